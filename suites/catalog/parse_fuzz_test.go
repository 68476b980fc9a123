package catalog

import (
	"testing"
)

// FuzzParse: any catalogue document is accepted or refused, never a panic;
// an accepted one renders and keeps the invariants the suites rely on:
// unique group IDs, requirement IDs and bug names, every requirement in a
// known group, every bug it breaks known.
func FuzzParse(f *testing.F) {
	// testdata/fuzz/FuzzParse holds the inputs that found bugs: a group
	// and a bug defined twice were accepted.
	f.Add(catalogYAML)
	for _, doc := range []string{
		"", "{}", "groups: []\n",
		"groups: [{id: ISO, name: isolation, title: I}]\nrequirements: [{id: ISO-1, level: MUST, statement: s, reference: r}]\n",
		"groups: [{id: ISO, name: a}]\nrequirements: [{id: ISO-1, level: PROFILE, profile: p, statement: \"a|b\\nc\", reference: r, deferred: later}]\n",
		"requirements: [{id: XXX-1}]\n", "groups: [{id: \"\"}]\n", "bugs: [{name: b, needs: x}]\n",
		"groups: {id: ISO}\n", "a: &a [*a]\n", "\xff\xfe", "---\n- 1\n",
	} {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data)
		if err != nil {
			return
		}
		if len(RenderMarkdown(c)) == 0 {
			t.Fatal("an accepted catalogue renders to nothing")
		}
		groups := map[string]bool{}
		for _, g := range c.Groups {
			if groups[g.ID] {
				t.Fatalf("accepted with group %s twice", g.ID)
			}
			groups[g.ID] = true
		}
		bugs := map[string]bool{}
		for _, b := range c.Bugs {
			if bugs[b.Name] {
				t.Fatalf("accepted with bug %s twice", b.Name)
			}
			bugs[b.Name] = true
		}
		ids := map[string]bool{}
		for _, r := range c.Requirements {
			if ids[r.ID] {
				t.Fatalf("accepted with requirement %s twice", r.ID)
			}
			ids[r.ID] = true
			if _, ok := c.Group(r.Group()); !ok {
				t.Fatalf("%s: group %q unknown", r.ID, r.Group())
			}
			for _, b := range r.Breaks {
				if _, ok := c.Bug(b); !ok {
					t.Fatalf("%s breaks unknown bug %q", r.ID, b)
				}
			}
			r.GinkgoLabels()
		}
	})
}
