package scenarios

import (
	"strings"
	"testing"
)

func TestBundledScenariosParse(t *testing.T) {
	all, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	for _, sc := range all {
		names[sc.Name] = true
	}
	if !names["counter-bug"] {
		t.Fatalf("counter-bug.yaml is not bundled; have %v", names)
	}
}

func TestCounterBugScenario(t *testing.T) {
	all, _ := Bundled()
	for _, sc := range all {
		if sc.Name != "counter-bug" {
			continue
		}
		if sc.Requirement != "ISO-1" || sc.Route != "/mcp" || len(sc.Steps) != 6 {
			t.Fatalf("counter-bug: %+v", sc)
		}
		if *sc.Steps[4].Expect != 5 || *sc.Steps[5].Expect != 3 || sc.Steps[2].Times != 5 {
			t.Fatalf("counter-bug should expect A=5 (5 increments) and B=3: %+v", sc.Steps)
		}
	}
}

func TestParseRejectsBrokenScenarios(t *testing.T) {
	cases := map[string]string{
		"no requirement":    "steps: [{open: A}]",
		"no steps":          "requirement: ISO-1",
		"unknown field":     "requirement: ISO-1\nsteps: [{open: A, colour: red}]",
		"two actions":       "requirement: ISO-1\nsteps: [{open: A, delete: A}]",
		"call unopened":     "requirement: ISO-1\nsteps: [{call: counter.get, session: A}]",
		"double open":       "requirement: ISO-1\nsteps: [{open: A}, {open: A}]",
		"delete unopened":   "requirement: ISO-1\nsteps: [{delete: A}]",
		"call after delete": "requirement: ISO-1\nsteps: [{open: A}, {delete: A}, {call: counter.get, session: A}]",
		"expect on open":    "requirement: ISO-1\nsteps: [{open: A, expect: 1}]",
		"bad session name":  "requirement: ISO-1\nsteps: [{open: 'a b'}]",
	}
	for name, doc := range cases {
		if _, err := Parse([]byte(doc), "t"); err == nil {
			t.Errorf("%s: Parse accepted it", name)
		} else if !strings.Contains(err.Error(), "scenario") {
			t.Errorf("%s: error %q does not name the scenario", name, err)
		}
	}
	sc, err := Parse([]byte("requirement: EVI-3\nsteps: [{open: A}, {delete: A}, {open: A}]"), "reopen")
	if err != nil || sc.Name != "reopen" || sc.Route != "/mcp" {
		t.Fatalf("re-open after delete should parse with defaults: %v %+v", err, sc)
	}
}

// Deletes says whether a scenario ends a session with DELETE.
func TestDeletes(t *testing.T) {
	all, err := Bundled()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, sc := range all {
		got[sc.Name] = sc.Deletes()
	}
	if !got["delete-and-reopen"] || got["counter-bug"] {
		t.Errorf("Deletes: %v", got)
	}
}
