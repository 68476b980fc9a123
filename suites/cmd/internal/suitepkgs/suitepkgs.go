// Package suitepkgs lists the Ginkgo suites of the conformance run, read
// from the imports of suites/all with `go list` (as suites.mk does), for the
// commands' default --suites. The commands already need the go tool and the
// checkout (they compile or run those packages), so this adds no new need;
// importing suites/all instead would link every spec into them.
package suitepkgs

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
)

const (
	module = "github.com/mcpgw/conformance"
	all    = module + "/suites/all"
)

// List returns the suite packages as paths relative to the module root
// ("./suites/isolation", ...), in go list's (sorted) order. goTool is the
// go command to run; it must run inside the module.
func List(goTool string) ([]string, error) {
	out, err := exec.Command(goTool, "list", "-f", `{{join .Imports "\n"}}`, all).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, strings.TrimSpace(string(ee.Stderr)))
		}
		return nil, fmt.Errorf("go list %s: %w", all, err)
	}
	var pkgs []string
	for _, imp := range strings.Fields(string(out)) {
		rel, ok := strings.CutPrefix(imp, module+"/")
		if !ok {
			return nil, fmt.Errorf("suites/all imports %s, outside %s", imp, module)
		}
		pkgs = append(pkgs, "./"+rel)
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("go list %s: no imports", all)
	}
	return pkgs, nil
}
