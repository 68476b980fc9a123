package driver

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// ModuleRoot finds the directory holding go.mod, starting at dir and walking up.
func ModuleRoot(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: set MCPCONF_GATEWAY_BIN to a built gateway")
		}
		dir = parent
	}
}

// BuildGateway builds the main package pkg (e.g. ./servers/gateway) of the
// module at root into outDir and returns the binary's path.
func BuildGateway(ctx context.Context, root, pkg, outDir string) (string, error) {
	bin := filepath.Join(outDir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, goTool(), "build", "-o", bin, pkg)
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build %s in %s: %w\n%s", pkg, root, err, strings.TrimSpace(string(out)))
	}
	return bin, nil
}

// goTool is the go command of the running toolchain when it can be found.
func goTool() string {
	if v := os.Getenv("GO"); v != "" {
		return v
	}
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
