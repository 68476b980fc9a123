package reports

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// EnvChromium names the Chromium binary for render checks; by default the
// first of chromium, chromium-browser, google-chrome on PATH.
const EnvChromium = "MCPCONF_CHROMIUM"

// ErrNoChromium says no Chromium was found (Debian: apt-get install chromium).
var ErrNoChromium = errors.New("no chromium on PATH (Debian: apt-get install chromium; or set " + EnvChromium + ")")

// FindChromium returns the Chromium binary for render checks.
func FindChromium() (string, error) {
	if v := os.Getenv(EnvChromium); v != "" {
		return exec.LookPath(v)
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoChromium
}

// Screenshot renders the HTML file with headless Chromium, offline, into a
// PNG of width x height pixels, within a minute.
func Screenshot(ctx context.Context, chromium, htmlPath, pngPath string, width, height int) error {
	abs, err := filepath.Abs(pngPath)
	if err != nil {
		return err
	}
	_, err = runChromium(ctx, chromium, htmlPath, "--screenshot="+abs, fmt.Sprintf("--window-size=%d,%d", width, height))
	if err != nil {
		return err
	}
	if _, err := os.Stat(abs); err != nil {
		return fmt.Errorf("chromium wrote no screenshot: %w", err)
	}
	return nil
}

// RenderedDOM returns the document Chromium built from the HTML file,
// offline: what a reader's browser shows, for checks.
func RenderedDOM(ctx context.Context, chromium, htmlPath string) (string, error) {
	return runChromium(ctx, chromium, htmlPath, "--dump-dom")
}

func runChromium(ctx context.Context, chromium, htmlPath string, args ...string) (string, error) {
	abs, err := filepath.Abs(htmlPath)
	if err != nil {
		return "", err
	}
	profile, err := os.MkdirTemp("", "mcpconf-chromium-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(profile)
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
		"--disable-extensions", "--disable-background-networking", "--user-data-dir=" + profile,
		// Offline: a report that needs the network renders broken here.
		"--host-resolver-rules=MAP * ~NOTFOUND",
	}
	cmd := exec.CommandContext(ctx, chromium, append(append(base, args...), "file://"+abs)...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s %s: %w\n%s", chromium, strings.Join(args, " "), err, tail(stderr.String(), 2000))
	}
	return stdout.String(), nil
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}
