// Command render writes suites/REQUIREMENTS.md, the readable form of the
// requirement catalogue. It runs through `go generate ./suites/catalog`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/mcpgw/conformance/suites/catalog"
)

func main() {
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()
	c, err := catalog.Load()
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
	doc := catalog.RenderMarkdown(c)
	if *out == "" {
		_, err = os.Stdout.Write(doc)
	} else {
		err = os.WriteFile(*out, doc, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}
