// Package mcpconf is the Go entry point of the conformance suite, for
// implementers who prefer code to a target file: import it in a test of
// your own module, describe your gateway, and every spec of every
// requirement group runs against it, the way storage drivers run
// csi-test's sanity package.
//
//	func TestMyGateway(t *testing.T) {
//		url := startMyGateway(t) // however you run it: in process, a binary, a container
//		mcpconf.Run(t, mcpconf.Config{
//			Target: &mcpconf.Target{
//				Name:         "my gateway",
//				Driver:       targetconf.DriverExternal,
//				External:     targetconf.External{Replicas: []targetconf.ExternalReplica{{URL: url}}},
//				Profiles:     []string{"strict-405"},
//			},
//			Upstreams: myHooks{}, // Add, Change, Remove in Go (or targetconf.Upstreams commands)
//			OutDir:    "out",     // report.html, summary.md, junit.xml, report.json
//		})
//	}
//
// A target built in code takes every field of a target file (see
// suites/targetconf and suites/targets/*.yaml): any driver, capabilities,
// profiles, hook commands. Upstreams, when set, are the hooks in Go: the
// suite calls Add for each upstream a spec needs (fake MCP servers it runs
// on 127.0.0.1), Change and Remove when a spec changes them, and Remove for
// what is left when a spec ends. Specs run one after another in the test
// process; go test flags such as -ginkgo.label-filter=ISO apply.
package mcpconf

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/driver"
	"github.com/mcpgw/conformance/suites/fixture"
	"github.com/mcpgw/conformance/suites/targetconf"

	// Every suite's specs, registered on import.
	_ "github.com/mcpgw/conformance/suites/all"
)

// The types an implementer needs, so one import does.
type (
	// Target describes the gateway under test (suites/targetconf).
	Target = targetconf.Target
	// Upstream is one upstream as the gateway is told about it: the JSON
	// of gateway/CONTRACT.md.
	Upstream = driver.Upstream
	// GatewayRef is what hooks are told about the spec's gateway.
	GatewayRef = driver.GatewayRef
	// Registrar is the upstream hooks in Go.
	Registrar = driver.Registrar
)

// Config is everything about one conformance run.
type Config struct {
	// Target is the gateway under test. Required.
	Target *Target
	// Upstreams, when set, registers, changes and removes upstreams in Go
	// in place of hook commands (Target.Upstreams is then ignored).
	Upstreams Registrar
	// LabelFilter selects specs, e.g. "ISO || TRN-1" (default: all, or
	// -ginkgo.label-filter).
	LabelFilter string
	// OutDir, when set, receives report.json and junit.xml (Ginkgo's) and
	// the conformance report: report.html and summary.md.
	OutDir string
}

var configured atomic.Bool

// Configure makes cfg the configuration of this test process's specs and
// registers them with Ginkgo for that target, with the suite's setup, for a
// Ginkgo suite of your own that calls RunSpecs itself (as csi-test's
// GinkgoTest does). Call it once, before RunSpecs: Ginkgo registers a spec
// once per test process.
func Configure(cfg Config) error {
	if cfg.Target == nil {
		return errors.New("mcpconf: Config.Target is required")
	}
	if configured.Load() {
		return errors.New("mcpconf: Configure (or Run) was called already in this test process, and the specs are registered once")
	}
	if cfg.Upstreams != nil {
		cfg.Target.Upstreams.InGo = true
	}
	if err := targetconf.Use(cfg.Target); err != nil {
		return fmt.Errorf("mcpconf: %w", err)
	}
	fixture.UseRegistrar(cfg.Upstreams)
	configured.Store(true)
	fixture.Register()
	return nil
}

// Run runs every conformance spec against cfg.Target inside t, and writes
// the reports to cfg.OutDir when set. A MUST requirement that fails fails t.
func Run(t *testing.T, cfg Config) {
	t.Helper()
	if _, err := RunSpecs(t, cfg, nil); err != nil {
		t.Fatal(err)
	}
	if cfg.OutDir != "" {
		if err := WriteReports(cfg.OutDir); err != nil {
			t.Errorf("conformance report: %v", err)
		}
	}
}

// RunSpecs is Run for a program outside go test (suites/cmd/mcpconf): it
// registers cfg's specs (Configure) and runs them in this process, t
// standing for the testing.T Ginkgo reports a failure to, and writes
// Ginkgo's report.json and junit.xml to cfg.OutDir when set (the
// conformance report is WriteReports'). adjust, when not nil, changes
// Ginkgo's configuration first (its reporter, timeout). It returns whether
// every spec passed, or why the specs could not run.
func RunSpecs(t ginkgo.GinkgoTestingT, cfg Config, adjust func(*types.SuiteConfig, *types.ReporterConfig)) (bool, error) {
	if err := Configure(cfg); err != nil {
		return false, err
	}
	gomega.RegisterFailHandler(ginkgo.Fail)
	suiteConfig, reporterConfig := ginkgo.GinkgoConfiguration()
	if cfg.LabelFilter != "" {
		suiteConfig.LabelFilter = cfg.LabelFilter
	}
	if cfg.OutDir != "" {
		dir, err := filepath.Abs(cfg.OutDir)
		if err != nil {
			return false, err
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return false, err
		}
		reporterConfig.JSONReport = filepath.Join(dir, "report.json")
		reporterConfig.JUnitReport = filepath.Join(dir, "junit.xml")
	}
	if adjust != nil {
		adjust(&suiteConfig, &reporterConfig)
	}
	return ginkgo.RunSpecs(t, "MCP gateway conformance: "+cfg.Target.Name, suiteConfig, reporterConfig), nil
}

// WriteReports turns dir/report.json into dir/report.html and dir/summary.md.
func WriteReports(dir string) error {
	c, err := catalog.Load()
	if err != nil {
		return err
	}
	runs, err := reports.Load(filepath.Join(dir, "report.json"))
	if err != nil {
		return err
	}
	return reports.Build(c, runs).WriteFiles(filepath.Join(dir, "summary.md"), filepath.Join(dir, "report.html"))
}
