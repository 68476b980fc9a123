package gateway

import (
	"fmt"
	"strings"
	"text/template"
)

// toolNamer names the tools of the aggregate route with the --tool-name
// template and reads a called name back to (upstream, tool).
//
// The template must render as <before><upstream><between><tool><after>, or
// with the tool first, where the three literals do not depend on the values:
// New checks that by rendering it with two pairs of markers. Reading a name
// strips <before> and <after> and splits the rest at each <between>; the
// split whose upstream is configured is the one. Several such splits make
// the name ambiguous, an error; listing leaves out, and logs, every tool
// whose name does not read back to itself.
type toolNamer struct {
	tmpl                   *template.Template
	before, between, after string
	toolFirst              bool
	// pattern is the name with placeholders, for error messages.
	pattern string
}

type toolNameData struct{ Upstream, Tool string }

// toolRef is one upstream's tool.
type toolRef struct{ upstream, tool string }

func newToolNamer(text string) (*toolNamer, error) {
	tmpl, err := template.New("tool-name").Option("missingkey=error").Parse(text)
	if err != nil {
		return nil, err
	}
	n := &toolNamer{tmpl: tmpl}
	const u1, t1, u2, t2 = "\x00upstream-1\x00", "\x00tool-1\x00", "\x00upstream-2\x00", "\x00tool-2\x00"
	first, err := n.render(u1, t1)
	if err != nil {
		return nil, err
	}
	if strings.Count(first, u1) != 1 || strings.Count(first, t1) != 1 {
		return nil, fmt.Errorf("want .Upstream and .Tool each exactly once, as they are (got %q for upstream U and tool T)", strings.NewReplacer(u1, "U", t1, "T").Replace(first))
	}
	ui, ti := strings.Index(first, u1), strings.Index(first, t1)
	n.toolFirst = ti < ui
	lo, hi := u1, t1
	if n.toolFirst {
		lo, hi = t1, u1
	}
	before, rest, _ := strings.Cut(first, lo)
	n.before = before
	n.between, n.after, _ = strings.Cut(rest, hi)
	second, err := n.render(u2, t2)
	if err != nil {
		return nil, err
	}
	if second != n.join(u2, t2) {
		return nil, fmt.Errorf("want the text around .Upstream and .Tool to be the same whatever their values")
	}
	if n.pattern, err = n.render("<upstream-id>", "<tool>"); err != nil {
		return nil, err
	}
	return n, nil
}

func (n *toolNamer) render(upstream, tool string) (string, error) {
	var b strings.Builder
	if err := n.tmpl.Execute(&b, toolNameData{Upstream: upstream, Tool: tool}); err != nil {
		return "", err
	}
	return b.String(), nil
}

// join is what the checked template renders, without running it.
func (n *toolNamer) join(upstream, tool string) string {
	if n.toolFirst {
		upstream, tool = tool, upstream
	}
	return n.before + upstream + n.between + tool + n.after
}

// read returns the readings of name whose upstream is configured, and
// failing those the first reading at all (nil when name cannot be one).
func (n *toolNamer) read(name string, configured func(id string) bool) (matches []toolRef, first *toolRef) {
	if len(name) < len(n.before)+len(n.after) || !strings.HasPrefix(name, n.before) || !strings.HasSuffix(name, n.after) {
		return nil, nil
	}
	mid := name[len(n.before) : len(name)-len(n.after)]
	for i := 1; i+len(n.between) < len(mid); i++ {
		if !strings.HasPrefix(mid[i:], n.between) {
			continue
		}
		r := toolRef{upstream: mid[:i], tool: mid[i+len(n.between):]}
		if n.toolFirst {
			r = toolRef{upstream: r.tool, tool: r.upstream}
		}
		if first == nil {
			first = &r
		}
		if configured(r.upstream) {
			matches = append(matches, r)
		}
	}
	return matches, first
}
