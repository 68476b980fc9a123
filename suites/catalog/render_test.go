package catalog

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// suites/REQUIREMENTS.md is the catalogue rendered: it says what catalog.yaml
// says, byte for byte.
func TestRequirementsDocumentIsCurrent(t *testing.T) {
	const path = "../REQUIREMENTS.md"
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("suites/REQUIREMENTS.md: %v (run %s)", err, RegenerateCommand)
	}
	if want := RenderMarkdown(MustLoad()); !bytes.Equal(got, want) {
		t.Errorf("suites/REQUIREMENTS.md is stale: it does not match catalog.yaml; run %s", RegenerateCommand)
	}
}

func TestRenderMarkdownRows(t *testing.T) {
	c, err := Parse([]byte(`groups: [{id: ISO, name: isolation, title: Isolation}]
bugs: [{name: b, needs: multi-replica, summary: "pools | sessions"}]
requirements:
  - {id: ISO-1, level: MUST, statement: "a | b", reference: r, breaks: [b]}
  - {id: ISO-2, level: PROFILE, profile: strict-405, statement: s, reference: r, deferred: later}
`))
	if err != nil {
		t.Fatal(err)
	}
	doc := string(RenderMarkdown(c))
	for _, want := range []string{
		"\n## ISO: Isolation\n",
		"\n| ISO-1 | MUST | a \\| b | r | `b` |\n",                           // a pipe cannot end the cell
		"\n| ISO-2 | PROFILE `strict-405` | *Deferred: later.* s | r |  |\n", // profile and reason shown
		"\n| `b` | pools \\| sessions (only across replicas",                 // the bug, its needs
		"| ISO-1 |\n",
	} {
		if !strings.Contains(doc, want) {
			t.Errorf("rendered document lacks %q:\n%s", want, doc)
		}
	}
}
