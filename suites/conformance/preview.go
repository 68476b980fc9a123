package conformance

import (
	"fmt"
	"slices"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/mcpgw/conformance/suites/catalog"
)

// SpecInfo is one registered spec as Preview sees it.
type SpecInfo struct {
	Text     string
	Location string
	// Requirements are the catalogue IDs among the spec's labels.
	Requirements []string
}

// Preview walks every spec declared in this binary without running any and
// returns them with the requirement IDs they name. It registers the
// collected groups first if nothing has (with the zero Plan: no target
// decides anything a preview reads). Call it from a test binary that
// imports the group packages.
func Preview() []SpecInfo {
	if !Registered() {
		Register(Plan{})
	}
	c := catalog.MustLoad()
	report := ginkgo.PreviewSpecs("requirement coverage")
	var out []SpecInfo
	for _, s := range report.SpecReports {
		if s.LeafNodeType != types.NodeTypeIt {
			continue
		}
		info := SpecInfo{Text: s.FullText(), Location: s.LeafNodeLocation.String()}
		for _, l := range s.Labels() {
			if _, ok := c.Requirement(l); ok && !slices.Contains(info.Requirements, l) {
				info.Requirements = append(info.Requirements, l)
			}
		}
		out = append(out, info)
	}
	return out
}

// Coverage checks specs against the catalogue: every requirement that is not
// deferred has at least one spec, and every spec names exactly one
// requirement. It returns one message per defect.
func Coverage(specs []SpecInfo) []string {
	c := catalog.MustLoad()
	var defects []string
	covered := map[string]int{}
	for _, s := range specs {
		switch len(s.Requirements) {
		case 0:
			defects = append(defects, fmt.Sprintf("spec %q (%s) names no catalogue requirement: declare it with conformance.It", s.Text, s.Location))
		case 1:
			covered[s.Requirements[0]]++
		default:
			defects = append(defects, fmt.Sprintf("spec %q (%s) names several requirements %v: one spec proves one requirement", s.Text, s.Location, s.Requirements))
		}
	}
	for _, r := range c.Requirements {
		if r.IsDeferred() {
			continue
		}
		if covered[r.ID] == 0 {
			defects = append(defects, fmt.Sprintf("%s (%s) has no spec", r.ID, r.Level))
		}
	}
	return defects
}
