package driver

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// hookDetail is what evidence keeps of a hook's combined output: its last
// maxHookOutput bytes, trimmed, or "(no output)". The output comes from a
// command the target supplies, so it is made safe to print: invalid UTF-8
// becomes U+FFFD, and control characters other than newline and tab (ESC,
// a lone CR, C1 codes such as CSI) are escaped as \xNN or \u00NN rather than
// reaching the terminal or report that shows the evidence.
func hookDetail(output string) string {
	output = strings.ReplaceAll(output, "\r\n", "\n")
	// Walk back from the end so the kept suffix is never cut inside a rune
	// or an escape.
	var pieces []string
	size, cut := 0, false
	for rest := output; rest != ""; {
		r, n := utf8.DecodeLastRuneInString(rest)
		piece := safeRune(r, rest[len(rest)-n:])
		if size+len(piece) > maxHookOutput {
			cut = true
			break
		}
		pieces = append(pieces, piece)
		size += len(piece)
		rest = rest[:len(rest)-n]
	}
	var b strings.Builder
	b.Grow(size + 3)
	if cut {
		b.WriteString("...")
	}
	for i := len(pieces) - 1; i >= 0; i-- {
		b.WriteString(pieces[i])
	}
	if s := strings.TrimSpace(b.String()); s != "" {
		return s
	}
	return "(no output)"
}

// safeRune is how rune r, read from raw, appears in evidence.
func safeRune(r rune, raw string) string {
	switch {
	case r == utf8.RuneError && len(raw) == 1:
		return "\uFFFD"
	case r == '\n' || r == '\t':
		return raw
	case r < 0x20 || r == 0x7f:
		return fmt.Sprintf(`\x%02x`, r)
	case r >= 0x80 && r <= 0x9f:
		return fmt.Sprintf(`\u%04x`, r)
	}
	return raw
}
