package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
)

// statementWidth clips statements in the compact table; --markdown has
// them whole.
const statementWidth = 100

// requirementsCommand prints the requirement catalogue: a compact table by
// group, or with --markdown the document suites/REQUIREMENTS.md is.
func requirementsCommand(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpconf requirements", flag.ContinueOnError)
	fs.SetOutput(stderr)
	markdown := fs.Bool("markdown", false, "print the whole catalogue as Markdown (suites/REQUIREMENTS.md)")
	if err := fs.Parse(args); err != nil {
		return usageExit(err)
	}
	if fs.NArg() != 0 {
		fmt.Fprintln(stderr, "mcpconf requirements: takes no arguments")
		return reports.ExitUsage
	}
	c, err := catalog.Load()
	if err != nil {
		fmt.Fprintln(stderr, "mcpconf requirements:", err)
		return reports.ExitUsage
	}
	if *markdown {
		_, err = stdout.Write(catalog.RenderMarkdown(c))
	} else {
		err = writeCompact(stdout, c)
	}
	if err != nil {
		fmt.Fprintln(stderr, "mcpconf requirements:", err)
		return reports.ExitUsage
	}
	return 0
}

func writeCompact(w io.Writer, c *catalog.Catalog) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for i, g := range c.Groups {
		if i > 0 {
			fmt.Fprintln(tw)
		}
		fmt.Fprintf(tw, "%s: %s\n", g.ID, g.Title)
		for _, r := range c.Requirements {
			if r.Group() != g.ID {
				continue
			}
			level := string(r.Level)
			if r.Profile != "" {
				level += " " + r.Profile
			}
			statement := strings.Join(strings.Fields(r.Statement), " ")
			if r.IsDeferred() {
				statement = "(deferred) " + statement
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", r.ID, level, clip(statement, statementWidth))
		}
	}
	return tw.Flush()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}
