package catalog

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

func TestEmbeddedCatalogLoads(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Requirements) == 0 {
		t.Fatal("catalogue is empty")
	}
	for _, r := range c.Requirements {
		for _, l := range r.GinkgoLabels() {
			if strings.ContainsAny(l, "&|!,()/") || strings.TrimSpace(l) == "" {
				t.Errorf("%s: label %q is not a valid Ginkgo label", r.ID, l)
			}
		}
	}
}

// sourceDocumentEnv names a requirements document the catalogue restates
// (a Markdown file with "| ID | LEVEL [profile] |" rows). The document is
// not part of the repository, so the check runs only when it is given.
const sourceDocumentEnv = "MCPCONF_REQUIREMENTS_SOURCE"

// The catalogue restates the source document: every ID there is here with
// the same level, and nothing here is missing there.
func TestCatalogMatchesRequirementsDocument(t *testing.T) {
	path := os.Getenv(sourceDocumentEnv)
	if path == "" {
		t.Skipf("%s is unset: set it to the requirements document the catalogue restates to compare them", sourceDocumentEnv)
	}
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", sourceDocumentEnv, err)
	}
	row := regexp.MustCompile(`(?m)^\| ([A-Z]{3}-[0-9]+[a-z]?) \| (MUST|SHOULD|PROFILE)( [^|]+)? \|`)
	c := MustLoad()
	var docIDs []string
	for _, m := range row.FindAllStringSubmatch(string(doc), -1) {
		id, level, profile := m[1], Level(m[2]), strings.TrimSpace(m[3])
		docIDs = append(docIDs, id)
		r, ok := c.Requirement(id)
		if !ok {
			t.Errorf("%s is in %s but not in the catalogue", id, path)
			continue
		}
		if r.Level != level || r.Profile != profile {
			t.Errorf("%s: catalogue says %s %q, %s says %s %q", id, r.Level, r.Profile, path, level, profile)
		}
	}
	for _, r := range c.Requirements {
		if !slices.Contains(docIDs, r.ID) {
			t.Errorf("%s is in the catalogue but not in %s", r.ID, path)
		}
	}
}

func TestKnownBugMapping(t *testing.T) {
	c := MustLoad()
	want := map[string][]string{
		"shared-upstream":    {"ISO-1", "ISO-2", "VER-1"},          // VER-1: ISO-1 at each revision
		"no-evict-on-delete": {"EVI-1", "EVI-3", "XPD-2", "VER-1"}, // XPD-2: EVI-1 through a non-owner
		"no-evict-on-update": {"EVI-5", "XPD-4"},                   // XPD-4: EVI-5 on every replica
		"hanging-get":        {"TRN-1", "TRN-1s", "VER-1"},         // TRN-1s refines TRN-1
		"unbounded-shutdown": {"SHD-1", "SHD-2", "SHD-3"},          // SHD-3: closing a session with a wedged call waits for it
		// Every XPD spec that routes a session through a non-owner.
		"local-lookup":               {"XPD-1", "XPD-2", "XPD-3", "XPD-6", "XPD-7", "RTE-2", "RTE-4"},
		"dead-owner-hang":            {"XPD-5", "XPD-8"}, // XPD-8: a stalled owner is dead once its heartbeat lapses
		"no-cancel-on-disconnect":    {"TRN-10"},
		"frozen-owner-hang":          {"XPD-8"},
		"delete-evicts-identity":     {"EVI-4"},
		"forward-credentials":        {"ISO-7"},
		"keep-claims-while-draining": {"SHD-5"},
		// The sessionless era: a shared bridge is the counter bug again,
		// and a handle reaches whoever shares the bridge.
		"shared-bridge":           {"VER-3", "VER-5", "VER-7", "VER-8"},
		"no-header-check":         {"VER-4"},
		"shared-private-cache":    {"VER-5"},
		"broadcast-notifications": {"RTE-1", "RTE-7"},
		"unmapped-ids":            {"RTE-5"},
		"drop-cancel":             {"RTE-6"},
		"shared-listen":           {"VER-9"},
		"hold-undeliverable":      {"RTE-3"},
	}
	for bug, ids := range want {
		if got := c.ExpectedFailures(bug); !slices.Equal(got, ids) {
			t.Errorf("%s: catalogue expects %v to fail, want %v", bug, got, ids)
		}
	}
	if len(c.Bugs) != len(want) {
		t.Errorf("catalogue lists %d bugs, want %d", len(c.Bugs), len(want))
	}
	for _, b := range c.Bugs {
		if c.BugDeferred(b.Name) {
			t.Errorf("BugDeferred: %s has specs now", b.Name)
		}
	}
	for name, needs := range map[string]string{"local-lookup": NeedsMultiReplica, "dead-owner-hang": NeedsMultiReplica, "frozen-owner-hang": NeedsMultiReplica, "keep-claims-while-draining": NeedsMultiReplica, "shared-upstream": "", "no-cancel-on-disconnect": ""} {
		if b, ok := c.Bug(name); !ok || b.Needs != needs {
			t.Errorf("bug %s: needs %q, want %q", name, b.Needs, needs)
		}
	}
}

func TestParseRejectsDefects(t *testing.T) {
	base := "groups: [{id: ISO, name: isolation}]\nbugs: [{name: b}]\n"
	cases := map[string]string{
		"unknown field":   base + "requirements: [{id: ISO-1, level: MUST, statement: s, reference: r, breaks: [b], oops: 1}]",
		"bad level":       base + "requirements: [{id: ISO-1, level: MAY, statement: s, reference: r, breaks: [b]}]",
		"duplicate":       base + "requirements: [{id: ISO-1, level: MUST, statement: s, reference: r, breaks: [b]}, {id: ISO-1, level: MUST, statement: s, reference: r}]",
		"unknown group":   base + "requirements: [{id: XXX-1, level: MUST, statement: s, reference: r, breaks: [b]}]",
		"unknown bug":     base + "requirements: [{id: ISO-1, level: MUST, statement: s, reference: r, breaks: [c]}]",
		"uncaught bug":    base + "requirements: [{id: ISO-1, level: MUST, statement: s, reference: r}]",
		"profile no name": base + "requirements: [{id: ISO-1, level: PROFILE, statement: s, reference: r, breaks: [b]}]",
		"no statement":    base + "requirements: [{id: ISO-1, level: MUST, reference: r, breaks: [b]}]",
		"unknown needs":   "groups: [{id: ISO, name: isolation}]\nbugs: [{name: b, needs: teleport}]\nrequirements: [{id: ISO-1, level: MUST, statement: s, reference: r, breaks: [b]}]",
	}
	for name, doc := range cases {
		if _, err := Parse([]byte(doc)); err == nil {
			t.Errorf("%s: Parse accepted a defective catalogue", name)
		}
	}
}
