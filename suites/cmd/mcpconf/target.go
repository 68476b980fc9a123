package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// loadTarget reads the target file at path as the suites do
// (targetconf.Load: defaults, then MCPCONF_* overrides, then validation),
// and checks that this program can run it as it is.
func loadTarget(path string) (*targetconf.Target, error) {
	getenv := func(name string) string {
		if name == targetconf.EnvTarget {
			return path
		}
		return os.Getenv(name)
	}
	t, err := targetconf.Load(getenv)
	if err != nil {
		return nil, err
	}
	return t, runnable(t)
}

// runnable refuses what would need this module's source and a Go toolchain
// at run time: the fixture builds gateway.package when gateway.bin is
// empty, and the container driver builds every image the target leaves
// unnamed. An installed mcpconf has neither, so it says which field to set
// rather than failing every spec with a go build error.
func runnable(t *targetconf.Target) error {
	const why = "mcpconf builds nothing (that needs this module's source and a Go toolchain)"
	switch t.Driver {
	case targetconf.DriverProcess:
		if t.Gateway.Bin == "" {
			return fmt.Errorf("target %s: gateway.bin is not set: the process driver needs a built gateway binary (gateway.bin, or %s), and %s; gateway.package %q is only for runs from a clone",
				t.Name, targetconf.EnvGatewayBin, why, t.Gateway.Package)
		}
		if _, err := exec.LookPath(t.Gateway.Bin); err != nil {
			return fmt.Errorf("target %s: gateway.bin: %w", t.Name, err)
		}
	case targetconf.DriverContainer:
		var missing []string
		for field, image := range map[string]string{
			"gateway.image":          t.Gateway.Image,
			"container.counterImage": t.Container.CounterImage,
			"container.wedgeImage":   t.Container.WedgeImage,
		} {
			if image == "" {
				missing = append(missing, field)
			}
		}
		if len(missing) > 0 {
			slices.Sort(missing) // map order
			return fmt.Errorf("target %s: the container driver needs built images: set %s (the fakes' images are built from servers/counter and servers/wedge), since %s",
				t.Name, strings.Join(missing, ", "), why)
		}
	}
	return nil
}

// checkTargetCommand loads and validates a target file and prints it
// resolved (defaults and MCPCONF_* applied), secrets masked: exit 0 when
// mcpconf run could use it, 2 with the reason otherwise.
func checkTargetCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpconf check-target", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: mcpconf check-target my-gateway.yaml\n\nLoads and validates the target file (MCPCONF_* overrides applied) and prints it resolved.")
	}
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if fs.NArg() != 1 {
		fs.Usage()
		return reports.ExitUsage
	}
	t, err := loadTarget(fs.Arg(0))
	if err != nil {
		fmt.Fprintln(stderr, "mcpconf check-target:", err)
		return reports.ExitUsage
	}
	shown := *t
	if shown.External.AdminToken != "" {
		shown.External.AdminToken = "(set)"
	}
	data, err := yaml.Marshal(&shown)
	if err != nil {
		fmt.Fprintln(stderr, "mcpconf check-target:", err)
		return reports.ExitUsage
	}
	fmt.Fprintf(stdout, "# %s: a valid target (defaults and MCPCONF_* applied; secrets masked)\n%s", fs.Arg(0), data)
	return 0
}

// usageExit is the exit code after a flag.FlagSet.Parse error: 0 for -h.
func usageExit(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	return reports.ExitUsage
}
