// Command compare merges several conformance runs into one gateway x
// requirement matrix, as Markdown and self-contained HTML.
//
//	go run ./reports/cmd/compare --md out/compare.md --html out/compare.html \
//	    out/report.json "my gateway=runs/mine/report.json"
//
// Each argument is a Ginkgo JSON report written by the suites, optionally
// prefixed with "label=" (default: the target name the run recorded).
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/mcpgw/conformance/reports"
	"github.com/mcpgw/conformance/suites/catalog"
)

func main() {
	if err := run(os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "compare:", err)
		os.Exit(2)
	}
}

func run(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("compare", flag.ContinueOnError)
	md := fs.String("md", "out/compare.md", "Markdown matrix to write (empty: none)")
	html := fs.String("html", "out/compare.html", "HTML matrix to write (empty: none)")
	title := fs.String("title", "Conformance comparison", "title")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: compare [--md FILE] [--html FILE] [label=]report.json ...")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return errors.New("no reports to compare")
	}
	c, err := catalog.Load()
	if err != nil {
		return err
	}
	var runs []reports.Run
	for _, arg := range fs.Args() {
		label, path := "", arg
		if l, p, ok := strings.Cut(arg, "="); ok && !strings.Contains(l, "/") {
			label, path = l, p
		}
		r, err := reports.LoadRun(c, path, label)
		if err != nil {
			return err
		}
		runs = append(runs, r)
	}
	cmp := reports.NewComparison(runs)
	cmp.Title = *title
	if err := cmp.WriteFiles(*md, *html); err != nil {
		return err
	}
	for _, r := range cmp.Runs {
		fmt.Fprintf(stdout, "%s: %s, %s\n", r.Label, r.Matrix.Verdict(), r.Matrix.TallyLine())
	}
	fmt.Fprintf(stdout, "comparison of %d runs: %s %s\n", len(runs), *md, *html)
	return nil
}
