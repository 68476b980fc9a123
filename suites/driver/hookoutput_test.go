package driver

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzHookDetail: whatever a hook prints, its evidence is valid UTF-8,
// bounded, free of terminal control characters, never empty, and, for
// output that needs no escaping, exactly the trimmed tail of what it printed.
func FuzzHookDetail(f *testing.F) {
	f.Add("")
	f.Add("   \n\t ")
	f.Add("registered counter-1\n")
	f.Add("line one\r\nline two\r\n")
	f.Add("\x1b[31mred\x1b[0m and a bell\a")
	f.Add("progress 10%\rprogress 100%")
	f.Add("invalid \xff\xfe utf-8 and a cut rune \xe2\x82")
	f.Add("C1 CSI \u009b2J and DEL \x7f")
	f.Add(strings.Repeat("é", maxHookOutput))
	f.Add(strings.Repeat("\x1b", maxHookOutput+1))
	f.Fuzz(func(t *testing.T, out string) {
		got := hookDetail(out)
		if !utf8.ValidString(got) {
			t.Fatalf("not valid UTF-8: %q", got)
		}
		if len(got) > maxHookOutput+len("...") {
			t.Fatalf("%d bytes, want at most %d", len(got), maxHookOutput+len("..."))
		}
		if got == "" {
			t.Fatal("empty evidence; want (no output)")
		}
		for _, r := range got {
			if (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f) {
				t.Fatalf("control character %U reaches the evidence: %q", r, got)
			}
		}
		plain := strings.ReplaceAll(out, "\r\n", "\n")
		if !utf8.ValidString(plain) || strings.IndexFunc(plain, needsEscape) >= 0 {
			return
		}
		want := strings.TrimSpace(plain)
		if len(plain) > maxHookOutput {
			start := len(plain) - maxHookOutput
			for !utf8.RuneStart(plain[start]) { // hookDetail keeps whole runes
				start++
			}
			want = strings.TrimSpace("..." + plain[start:])
		}
		if want == "" {
			want = "(no output)"
		}
		if got != want {
			t.Fatalf("hookDetail(%q) = %q, want %q", out, got, want)
		}
	})
}

func needsEscape(r rune) bool {
	return (r < 0x20 && r != '\n' && r != '\t') || (r >= 0x7f && r <= 0x9f)
}
