package conformance

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/onsi/ginkgo/v2"

	"github.com/mcpgw/conformance/suites/catalog"
)

// EntryCouldNotJudge marks a spec that failed because it could not judge
// its requirement: the suite's set-up did not work, or a precondition that
// another requirement owns did not hold. Its value is a Judgement as JSON.
// The report builder (reports/) shows such a spec as "error", naming the
// owner, never as a failure of the requirement under test; the JUnit
// rewrite finds it by this name among the test case's properties.
const EntryCouldNotJudge = "mcpconf: could not judge"

// OwnerSetup is the owner of a precondition no requirement owns: the
// suite's own set-up (a replica that is not ready, a fake that did not
// start).
const OwnerSetup = "setup"

// CouldNotJudgePrefix starts the failure message of every spec that could
// not judge, so that a console or JUnit reader sees it is not a failure of
// the requirement.
const CouldNotJudgePrefix = "could not judge: "

// Judgement says why a spec could not judge and whose precondition failed.
type Judgement struct {
	// Owner is the requirement ID whose precondition did not hold, or
	// OwnerSetup.
	Owner  string `json:"owner"`
	Reason string `json:"reason"`
}

// Encode renders the judgement as an EntryCouldNotJudge value.
func (j Judgement) Encode() string {
	b, _ := json.Marshal(j)
	return string(b)
}

// DecodeJudgement reads an EntryCouldNotJudge value.
func DecodeJudgement(s string) (Judgement, error) {
	var j Judgement
	err := json.NewDecoder(strings.NewReader(s)).Decode(&j)
	return j, err
}

// String is the failure message: it says the requirement under test was not
// judged, and who owns what went wrong.
func (j Judgement) String() string {
	if j.Owner == OwnerSetup {
		return CouldNotJudgePrefix + "the set-up failed: " + j.Reason
	}
	return fmt.Sprintf("%sa precondition owned by %s did not hold: %s", CouldNotJudgePrefix, j.Owner, j.Reason)
}

// CouldNotJudge ends the running spec as "could not judge": owner (a
// requirement ID of the catalogue, or OwnerSetup) is what did not hold, and
// reason says how. The spec fails through Ginkgo, so the run is not green,
// but reports count it as an error, not as a failure of its requirement.
func CouldNotJudge(reason, owner string) {
	ginkgo.GinkgoHelper()
	j, err := newJudgement(reason, owner)
	if err != nil {
		panic("conformance.CouldNotJudge: " + err.Error())
	}
	// The failure message is what people read; the entry is what the
	// report builder reads, so it stays off the console.
	ginkgo.AddReportEntry(EntryCouldNotJudge, j.Encode(), ginkgo.ReportEntryVisibilityNever)
	ginkgo.Fail(j.String())
}

// newJudgement checks that owner is a requirement of the catalogue or
// OwnerSetup: a report must name an owner a reader can look up.
func newJudgement(reason, owner string) (Judgement, error) {
	if _, ok := catalog.MustLoad().Requirement(owner); !ok && owner != OwnerSetup {
		return Judgement{}, fmt.Errorf("owner %q is neither a requirement of the catalogue nor %q", owner, OwnerSetup)
	}
	return Judgement{Owner: owner, Reason: reason}, nil
}

// Precondition runs body, which asserts through Gomega on the spec's
// goroutine what the spec needs before it can judge its own requirement and
// what owner (a requirement ID, or OwnerSetup) is about. Its first Gomega
// failure ends the spec as CouldNotJudge instead of failing the requirement
// under test. Skips and panics pass through.
//
// Use it in MUST and PROFILE specs: the SHOULD interception does not
// survive a Precondition nested in a SHOULD body (both replace Gomega's
// fail handler).
func Precondition(owner string, body func()) {
	ginkgo.GinkgoHelper()
	if failure := intercept(body); failure != nil {
		CouldNotJudge(failure.Error(), owner)
	}
}
