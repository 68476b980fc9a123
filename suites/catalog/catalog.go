// Package catalog is the requirement catalogue as data: every requirement the
// suites check, with its ID, group, level, statement, reference, labels and
// the emulated bugs it must catch. Specs, reports, the self-test and the
// readable suites/REQUIREMENTS.md (RenderMarkdown) derive everything they
// say about a requirement from here.
package catalog

import (
	"bytes"
	_ "embed"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"

	"gopkg.in/yaml.v3"
)

//go:embed catalog.yaml
var catalogYAML []byte

// Level is how binding a requirement is.
type Level string

const (
	// Must: a failure fails the run.
	Must Level = "MUST"
	// Should: a failure is a warning, and fails the run only in strict mode.
	Should Level = "SHOULD"
	// Profile: checked only when the target declares the profile.
	Profile Level = "PROFILE"
)

// Group is a family of requirements sharing an ID prefix.
type Group struct {
	ID    string `yaml:"id"`    // ID prefix, e.g. "ISO"
	Name  string `yaml:"name"`  // suite folder name, e.g. "isolation"
	Title string `yaml:"title"` // human title
}

// Bug is one known gateway bug the reference gateway can emulate.
type Bug struct {
	Name string `yaml:"name"` // the --emulate-bug value
	// Needs is a target capability the bug only exists with (NeedsMultiReplica
	// for bugs of cross-replica lookup); empty = any target can show it.
	Needs   string `yaml:"needs,omitempty"`
	Summary string `yaml:"summary"`
}

// NeedsMultiReplica marks a bug that only exists across replicas sharing a
// Redis: a single replica has no cross-replica lookup to get wrong, so specs
// that start one replica skip under it.
const NeedsMultiReplica = "multi-replica"

// Requirement is one catalogue entry.
type Requirement struct {
	ID        string   `yaml:"id"`
	Level     Level    `yaml:"level"`
	Profile   string   `yaml:"profile,omitempty"`
	Statement string   `yaml:"statement"`
	Reference string   `yaml:"reference"`
	Labels    []string `yaml:"labels,omitempty"`
	// Breaks lists the emulated bugs this requirement is expected to fail on.
	Breaks []string `yaml:"breaks,omitempty"`
	// Deferred says why no spec is required yet; empty means specs are required.
	Deferred string `yaml:"deferred,omitempty"`
}

// Group returns the requirement's group ID (the prefix before the dash).
func (r Requirement) Group() string {
	g, _, _ := strings.Cut(r.ID, "-")
	return g
}

// IsDeferred reports whether the requirement has no spec yet on purpose.
func (r Requirement) IsDeferred() bool { return r.Deferred != "" }

// GinkgoLabels returns every label a spec proving r carries: its ID, its
// group, its level (and "profile:<name>"), then the catalogue's extra labels.
func (r Requirement) GinkgoLabels() []string {
	out := []string{r.ID, r.Group(), string(r.Level)}
	if r.Profile != "" {
		out = append(out, "profile:"+r.Profile)
	}
	for _, l := range r.Labels {
		if !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// Catalog is the loaded catalogue.
type Catalog struct {
	Groups       []Group       `yaml:"groups"`
	Bugs         []Bug         `yaml:"bugs"`
	Requirements []Requirement `yaml:"requirements"`
}

var (
	loadOnce sync.Once
	loaded   *Catalog
	loadErr  error
)

// Load returns the embedded catalogue, validated. It is parsed once.
func Load() (*Catalog, error) {
	loadOnce.Do(func() { loaded, loadErr = Parse(catalogYAML) })
	return loaded, loadErr
}

// MustLoad is Load for package-level use; the embedded file is checked by the
// package's tests, so a failure here is a build defect.
func MustLoad() *Catalog {
	c, err := Load()
	if err != nil {
		panic(err)
	}
	return c
}

// Parse decodes and validates a catalogue document.
func Parse(data []byte) (*Catalog, error) {
	var c Catalog
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("requirement catalogue: %w", err)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("requirement catalogue: %w", err)
	}
	return &c, nil
}

var idPattern = regexp.MustCompile(`^[A-Z]{3}-[0-9]+[a-z]?$`)

func (c *Catalog) validate() error {
	groups := map[string]bool{}
	for _, g := range c.Groups {
		if g.ID == "" || g.Name == "" {
			return fmt.Errorf("group %+v: id and name are required", g)
		}
		if groups[g.ID] {
			return fmt.Errorf("group %s: duplicate id", g.ID)
		}
		groups[g.ID] = true
	}
	bugs := map[string]bool{}
	for _, b := range c.Bugs {
		if b.Needs != "" && b.Needs != NeedsMultiReplica {
			return fmt.Errorf("bug %s: needs %q is not %q", b.Name, b.Needs, NeedsMultiReplica)
		}
		if bugs[b.Name] {
			return fmt.Errorf("bug %s: duplicate name", b.Name)
		}
		bugs[b.Name] = true
	}
	seen := map[string]bool{}
	caught := map[string]bool{}
	for _, r := range c.Requirements {
		switch {
		case !idPattern.MatchString(r.ID):
			return fmt.Errorf("%q: id must look like ISO-1 or TRN-1s", r.ID)
		case seen[r.ID]:
			return fmt.Errorf("%s: duplicate id", r.ID)
		case !groups[r.Group()]:
			return fmt.Errorf("%s: unknown group %q", r.ID, r.Group())
		case r.Level != Must && r.Level != Should && r.Level != Profile:
			return fmt.Errorf("%s: level %q is not MUST, SHOULD or PROFILE", r.ID, r.Level)
		case (r.Level == Profile) != (r.Profile != ""):
			return fmt.Errorf("%s: a profile name goes with level PROFILE and only with it", r.ID)
		case strings.TrimSpace(r.Statement) == "" || strings.TrimSpace(r.Reference) == "":
			return fmt.Errorf("%s: statement and reference are required", r.ID)
		}
		seen[r.ID] = true
		for _, b := range r.Breaks {
			if !bugs[b] {
				return fmt.Errorf("%s: breaks unknown bug %q", r.ID, b)
			}
			caught[b] = true
		}
	}
	for _, b := range c.Bugs {
		if !caught[b.Name] {
			return fmt.Errorf("bug %s: no requirement catches it", b.Name)
		}
	}
	return nil
}

// Requirement returns the entry with the given ID.
func (c *Catalog) Requirement(id string) (Requirement, bool) {
	for _, r := range c.Requirements {
		if r.ID == id {
			return r, true
		}
	}
	return Requirement{}, false
}

// Bug returns the emulated bug with the given name.
func (c *Catalog) Bug(name string) (Bug, bool) {
	for _, b := range c.Bugs {
		if b.Name == name {
			return b, true
		}
	}
	return Bug{}, false
}

// Group returns the group with the given ID prefix.
func (c *Catalog) Group(id string) (Group, bool) {
	for _, g := range c.Groups {
		if g.ID == id {
			return g, true
		}
	}
	return Group{}, false
}

// ExpectedFailures returns the IDs of the requirements an emulated bug must
// fail, in catalogue order.
func (c *Catalog) ExpectedFailures(bug string) []string {
	var ids []string
	for _, r := range c.Requirements {
		if slices.Contains(r.Breaks, bug) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

// BugDeferred reports whether every requirement that catches bug is deferred,
// so the bug cannot be checked yet.
func (c *Catalog) BugDeferred(bug string) bool {
	for _, r := range c.Requirements {
		if slices.Contains(r.Breaks, bug) && !r.IsDeferred() {
			return false
		}
	}
	return true
}
