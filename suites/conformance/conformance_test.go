package conformance

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2"

	"github.com/mcpgw/conformance/suites/catalog"
	"github.com/mcpgw/conformance/suites/targetconf"
)

func TestJudgeShould(t *testing.T) {
	if v, _ := judgeShould("TRN-2", false, nil); v != verdictPass {
		t.Errorf("no failure: got %v, want pass", v)
	}
	v, msg := judgeShould("TRN-2", false, errors.New("got 200"))
	if v != verdictWarn || !strings.Contains(msg, "TRN-2") || !strings.Contains(msg, "got 200") {
		t.Errorf("non-strict failure: got %v %q, want a warning naming the requirement and the failure", v, msg)
	}
	if v, msg := judgeShould("TRN-2", true, errors.New("got 200")); v != verdictFail || !strings.Contains(msg, "strict") {
		t.Errorf("strict failure: got %v %q, want a failure saying strict", v, msg)
	}
}

func TestCoverageFindsDefects(t *testing.T) {
	specs := []SpecInfo{
		{Text: "no id", Location: "a.go:1"},
		{Text: "two ids", Location: "a.go:2", Requirements: []string{"ISO-1", "ISO-2"}},
		{Text: "fine", Location: "a.go:3", Requirements: []string{"ISO-1"}},
	}
	defects := strings.Join(Coverage(specs), "\n")
	for _, want := range []string{`"no id"`, `"two ids"`, "ISO-2 (MUST) has no spec", "EVI-1 (MUST) has no spec"} {
		if !strings.Contains(defects, want) {
			t.Errorf("Coverage should report %s; got:\n%s", want, defects)
		}
	}
	if !strings.Contains(defects, "XPD-1 (MUST) has no spec") {
		t.Errorf("XPD-1 needs a spec; got:\n%s", defects)
	}
	// A deferred requirement needs none, whichever the catalogue defers today.
	for _, r := range catalog.MustLoad().Requirements {
		if r.IsDeferred() && strings.Contains(defects, r.ID+" (") {
			t.Errorf("deferred %s is reported as lacking a spec:\n%s", r.ID, defects)
		}
	}
}

// Spec timeouts catch hangs; on containers, where a spec starts and
// removes containers, each is three times as long.
func TestWithSpecTimeout(t *testing.T) {
	timeout := func(ds []any) time.Duration {
		var got []time.Duration
		for _, d := range ds {
			if st, ok := d.(ginkgo.SpecTimeout); ok {
				got = append(got, time.Duration(st))
			}
		}
		if len(got) != 1 {
			t.Fatalf("want exactly one SpecTimeout in %v", ds)
		}
		return got[0]
	}
	process := &targetconf.Target{Driver: targetconf.DriverProcess}
	container := &targetconf.Target{Driver: targetconf.DriverContainer}
	for _, c := range []struct {
		decorators []any
		target     *targetconf.Target
		want       time.Duration
	}{
		{nil, process, DefaultSpecTimeout},
		{nil, nil, DefaultSpecTimeout},
		{nil, container, ContainerSpecTimeoutScale * DefaultSpecTimeout},
		{[]any{ginkgo.Serial, ginkgo.SpecTimeout(2 * time.Minute)}, process, 2 * time.Minute},
		{[]any{ginkgo.Serial, ginkgo.SpecTimeout(2 * time.Minute)}, container, ContainerSpecTimeoutScale * 2 * time.Minute},
	} {
		if got := timeout(withSpecTimeout(c.decorators, c.target)); got != c.want {
			t.Errorf("withSpecTimeout(%v, %v) = %s, want %s", c.decorators, c.target, got, c.want)
		}
	}
}
