package catalog

//go:generate go run ./cmd/render -o ../REQUIREMENTS.md

import (
	"bytes"
	_ "embed"
	"fmt"
	"strings"
)

// RegenerateCommand rewrites suites/REQUIREMENTS.md from catalog.yaml.
const RegenerateCommand = "go generate ./suites/catalog"

// intro is what suites/REQUIREMENTS.md says of every requirement at once,
// before the tables rendered from the catalogue.
//
//go:embed intro.md
var intro string

// RenderMarkdown renders the catalogue as the readable document
// suites/REQUIREMENTS.md: the introduction, one table per group, then the
// emulated bugs.
func RenderMarkdown(c *Catalog) []byte {
	var b bytes.Buffer
	b.WriteString("# Requirements\n\n")
	fmt.Fprintf(&b, "<!-- Rendered from suites/catalog/catalog.yaml by `%s`: edit the catalogue, not this file. -->\n\n", RegenerateCommand)
	b.WriteString(intro)
	for _, g := range c.Groups {
		fmt.Fprintf(&b, "\n## %s: %s\n\n", g.ID, g.Title)
		b.WriteString("| ID | level | requirement | reference | caught bugs |\n|---|---|---|---|---|\n")
		for _, r := range c.Requirements {
			if r.Group() != g.ID {
				continue
			}
			level := string(r.Level)
			if r.Profile != "" {
				level += " `" + r.Profile + "`"
			}
			statement := cell(r.Statement)
			if r.IsDeferred() {
				statement = "*Deferred: " + cell(r.Deferred) + ".* " + statement
			}
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", r.ID, level, statement, cell(r.Reference), codeList(r.Breaks))
		}
	}
	b.WriteString("\n## The emulated bugs\n\n")
	b.WriteString("| bug (`--emulate-bug`) | what it does | fails |\n|---|---|---|\n")
	for _, bug := range c.Bugs {
		summary := cell(bug.Summary)
		if bug.Needs == NeedsMultiReplica {
			summary += " (only across replicas: specs that start one replica skip under it)"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", bug.Name, summary, strings.Join(c.ExpectedFailures(bug.Name), ", "))
	}
	return b.Bytes()
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	return strings.ReplaceAll(s, "|", `\|`)
}

func codeList(names []string) string {
	var out []string
	for _, n := range names {
		out = append(out, "`"+n+"`")
	}
	return strings.Join(out, ", ")
}
