package conformance

import (
	"fmt"
	"slices"
	"sync"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
)

// Specs are collected when their packages are initialised and registered
// with Ginkgo only once the target is known (the seam of csi-test's
// DescribeSanity): Describe stores a group's body, and Register, called by
// the suite's Test function or mcpconf.Configure before RunSpecs, hands
// every stored group to Ginkgo. Ginkgo runs a group's body while it builds
// the tree, so It is called then, and applies the Plan of that target: a
// spec's decorators never depend on what the target was at package init.

// Plan is what the target under test decides about how its specs are
// registered.
type Plan struct {
	// Serial makes every spec Serial: the target's replicas are shared by
	// every spec (the external driver).
	Serial bool
	// SerialLabels makes the specs carrying any of these labels Serial
	// (multi-replica specs when the run shares one Redis).
	SerialLabels []string
}

// serial reports whether a spec with these decorators runs Serial.
func (p Plan) serial(decorators []any) bool {
	return p.Serial || slices.ContainsFunc(labelsOf(decorators), func(l string) bool { return slices.Contains(p.SerialLabels, l) })
}

// labelsOf collects the labels among decorators (and slices of them).
func labelsOf(decorators []any) []string {
	var out []string
	for _, d := range decorators {
		switch d := d.(type) {
		case ginkgo.Labels:
			out = append(out, d...)
		case []any:
			out = append(out, labelsOf(d)...)
		}
	}
	return out
}

// group is one collected container of specs.
type group struct {
	text       string
	decorators []any
	body       func()
}

var registry struct {
	sync.Mutex
	groups     []group
	registered bool
	plan       Plan
}

// Describe declares the specs of one requirement group (e.g. "ISO"). The
// body runs when the specs are registered (Register), not now: declare
// specs in it with It.
func Describe(group string, body func()) bool {
	g, ok := catalog.MustLoad().Group(group)
	if !ok {
		panic(fmt.Sprintf("conformance.Describe: %q is not a group of the requirement catalogue", group))
	}
	collect(g.ID+": "+g.Title, body, types.NewCodeLocation(1), ginkgo.Label(g.ID))
	return true
}

// DescribeSpecs declares a container of specs that is not one catalogue
// group (the scenarios: each spec names the requirement it proves),
// registered like the groups. decorators are Ginkgo container decorators.
func DescribeSpecs(text string, body func(), decorators ...any) bool {
	collect(text, body, append([]any{types.NewCodeLocation(1)}, decorators...)...)
	return true
}

// collect stores a group, or registers it at once when Register has run
// (a group declared in a Test function, or inside another's body). The lock
// is not held while Ginkgo runs: a body Ginkgo runs at once calls It.
func collect(text string, body func(), decorators ...any) {
	g := group{text: text, decorators: decorators, body: body}
	registry.Lock()
	registered := registry.registered
	if !registered {
		registry.groups = append(registry.groups, g)
	}
	registry.Unlock()
	if registered {
		register(g)
	}
}

// Register hands every collected group to Ginkgo, and makes plan apply to
// every spec It declares in them. Call it once per test process, before
// RunSpecs or PreviewSpecs, when the target is known (fixture.Register
// does: from the group suites' Test functions and mcpconf.Configure).
func Register(plan Plan) {
	registry.Lock()
	if registry.registered {
		registry.Unlock()
		panic("conformance.Register: the specs are registered already (Ginkgo registers a spec once per test process)")
	}
	registry.registered, registry.plan = true, plan
	groups := registry.groups
	registry.groups = nil
	registry.Unlock()
	for _, g := range groups {
		register(g)
	}
}

func register(g group) {
	ginkgo.Describe(g.text, append(g.decorators, g.body)...)
}

// Registered reports whether Register has run in this test process.
func Registered() bool {
	registry.Lock()
	defer registry.Unlock()
	return registry.registered
}

// currentPlan is the plan of Register; ok is false before it ran.
func currentPlan() (Plan, bool) {
	registry.Lock()
	defer registry.Unlock()
	return registry.plan, registry.registered
}
