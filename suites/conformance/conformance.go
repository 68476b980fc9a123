// Package conformance is the seam between the requirement catalogue and the
// Ginkgo specs. A spec is declared with It(id, text, body): the requirement's
// identity, group, level and labels are looked up in the catalogue, never
// typed twice, and the level decides how a failure counts:
//
//   - MUST: a failure fails the spec.
//   - SHOULD: a failure is recorded as a warning report entry and the spec
//     passes, unless the target runs in strict mode (MCPCONF_STRICT=1).
//     SHOULD bodies must assert through Gomega (Expect, Eventually) on the
//     spec's goroutine, which is how the failure is intercepted.
//   - PROFILE: the spec is skipped unless the target declares the profile.
//
// Group packages (suites/isolation, ...) declare their specs in ordinary Go
// files with Describe and It, so the same specs can be mounted in the
// group's own suite, in one binary with every group, or in Preview. They
// are registered with Ginkgo when the target is known (registry.go).
package conformance

import (
	"fmt"
	"slices"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/targetconf"
)

// Report entry names with a meaning to the report builder. Every other entry
// a spec adds is evidence.
const (
	// EntryWarning marks a SHOULD requirement that was not met (non-strict).
	EntryWarning = "warning"
	// EntryLogPrefix starts the name of an entry carrying a replica's log.
	EntryLogPrefix = "log: "
)

// DefaultSpecTimeout bounds every spec that does not choose its own
// SpecTimeout: a spec that can hang is a defect.
const DefaultSpecTimeout = 60 * time.Second

// It declares a spec that proves requirement id, inside the body of
// Describe. text says what this spec checks (a requirement may have several
// specs). decorators are Ginkgo decorators (e.g. SpecTimeout, Serial); the
// registration's Plan may add Serial.
func It(id, text string, body func(ctx ginkgo.SpecContext), decorators ...any) bool {
	ginkgo.GinkgoHelper()
	plan, registered := currentPlan()
	if !registered {
		panic(fmt.Sprintf("conformance.It(%q, %q) ran before the specs were registered: declare it inside the body of conformance.Describe", id, text))
	}
	req, ok := catalog.MustLoad().Requirement(id)
	if !ok {
		panic(fmt.Sprintf("conformance.It: spec %q names %q, which is not in the requirement catalogue", text, id))
	}
	args := []any{ginkgo.Label(req.GinkgoLabels()...)}
	if plan.serial(decorators) {
		args = append(args, ginkgo.Serial)
	}
	t, _ := targetconf.Current() // a bad target fails every spec; its timeouts do not matter
	args = append(args, withSpecTimeout(decorators, t)...)
	args = append(args, wrap(req, body))
	return ginkgo.It(fmt.Sprintf("[%s] %s", id, text), args...)
}

// ContainerSpecTimeoutScale multiplies every spec's timeout on the
// container driver. A spec timeout catches a hang; it is no bound of a
// requirement (those are measured inside the specs). On containers a spec
// starts and removes containers, which on a loaded machine has taken a
// minute for one spec's four (CI, 2026-12-02: ISO-4's body passed, its
// cleanup ran out of the spec's 60 s).
const ContainerSpecTimeoutScale = 3

// withSpecTimeout returns decorators with a SpecTimeout: the spec's own or
// DefaultSpecTimeout, scaled for target t's driver.
func withSpecTimeout(decorators []any, t *targetconf.Target) []any {
	scale := time.Duration(1)
	if t != nil && t.Driver == targetconf.DriverContainer {
		scale = ContainerSpecTimeoutScale
	}
	out := make([]any, 0, len(decorators)+1)
	if !slices.ContainsFunc(decorators, isSpecTimeout) {
		out = append(out, ginkgo.SpecTimeout(DefaultSpecTimeout*scale))
	}
	for _, d := range decorators {
		if st, ok := d.(ginkgo.SpecTimeout); ok {
			d = ginkgo.SpecTimeout(time.Duration(st) * scale)
		}
		out = append(out, d)
	}
	return out
}

func isSpecTimeout(d any) bool {
	_, ok := d.(ginkgo.SpecTimeout)
	return ok
}

// wrap applies the requirement's level to the spec body.
func wrap(req catalog.Requirement, body func(ginkgo.SpecContext)) func(ginkgo.SpecContext) {
	return func(ctx ginkgo.SpecContext) {
		t, err := targetconf.Current()
		if err != nil {
			ginkgo.Fail("target configuration: " + err.Error())
		}
		if req.Level == catalog.Profile && !t.HasProfile(req.Profile) {
			ginkgo.Skip(fmt.Sprintf("target %q does not declare profile %s", t.Name, req.Profile))
		}
		if req.Level != catalog.Should {
			body(ctx)
			return
		}
		failure := intercept(func() { body(ctx) })
		switch v, msg := judgeShould(req.ID, t.Strict, failure); v {
		case verdictFail:
			ginkgo.Fail(msg)
		case verdictWarn:
			ginkgo.AddReportEntry(EntryWarning, msg)
		}
	}
}

// intercept runs a SHOULD body and returns its first Gomega failure (with
// where it happened) instead of failing the spec. Skips and other panics
// pass through.
func intercept(body func()) (failure error) {
	type stop struct{}
	gomega.RegisterFailHandler(func(message string, callerSkip ...int) {
		skip := 0
		if len(callerSkip) > 0 {
			skip = callerSkip[0]
		}
		failure = fmt.Errorf("%s\n(at %s)", message, types.NewCodeLocation(skip+1))
		panic(stop{})
	})
	defer func() {
		gomega.RegisterFailHandler(ginkgo.Fail)
		if r := recover(); r != nil {
			if _, ok := r.(stop); !ok {
				panic(r)
			}
		}
	}()
	body()
	return nil
}

type verdict int

const (
	verdictPass verdict = iota
	verdictWarn
	verdictFail
)

// judgeShould decides what a SHOULD spec's outcome counts as: a failure is
// a warning, or a failure in strict mode.
func judgeShould(id string, strict bool, failure error) (verdict, string) {
	switch {
	case failure == nil:
		return verdictPass, ""
	case strict:
		return verdictFail, fmt.Sprintf("%s is a SHOULD and this run is strict: %s", id, failure)
	default:
		return verdictWarn, fmt.Sprintf("%s (SHOULD) not met: %s", id, failure)
	}
}

// Evidence attaches one piece of evidence (session ids, values read, status
// codes, timings) to the running spec's report. The console shows it when
// the spec fails (or with -v); the JSON report always carries it.
func Evidence(name string, value any) {
	ginkgo.GinkgoHelper()
	ginkgo.AddReportEntry(name, value, ginkgo.ReportEntryVisibilityFailureOrVerbose)
}

// Evidencef attaches formatted evidence.
func Evidencef(name, format string, args ...any) {
	ginkgo.GinkgoHelper()
	Evidence(name, fmt.Sprintf(format, args...))
}
