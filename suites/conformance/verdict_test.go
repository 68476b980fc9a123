package conformance

import (
	"strings"
	"testing"
)

func TestJudgementNamesItsOwner(t *testing.T) {
	j, err := newJudgement("3 upstream sessions, want 50", "ISO-1")
	if err != nil {
		t.Fatal(err)
	}
	if msg := j.String(); !strings.HasPrefix(msg, CouldNotJudgePrefix) || !strings.Contains(msg, "owned by ISO-1") || !strings.Contains(msg, "want 50") {
		t.Errorf("message %q should say could not judge, the owner and the reason", msg)
	}
	back, err := DecodeJudgement(j.Encode())
	if err != nil || back != j {
		t.Errorf("round trip: %+v, %v; want %+v", back, err, j)
	}
	setup, err := newJudgement("replica not ready", OwnerSetup)
	if err != nil || !strings.Contains(setup.String(), "set-up failed: replica not ready") {
		t.Errorf("setup judgement: %q, %v", setup, err)
	}
	if _, err := newJudgement("x", "ISO-99"); err == nil || !strings.Contains(err.Error(), "ISO-99") {
		t.Errorf("an owner outside the catalogue: %v, want an error naming it", err)
	}
}

// A precondition that holds runs its body and lets the spec go on.
func TestPreconditionThatHoldsIsSilent(t *testing.T) {
	ran := false
	Precondition("ISO-1", func() { ran = true })
	if !ran {
		t.Error("the precondition's body did not run")
	}
}
