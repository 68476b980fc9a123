package steps

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"testing"
)

func sample(n int, gen func() string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = gen()
	}
	return out
}

func uuid4() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return fmt.Sprintf("%s-%s-%s-%s-%s", h[:8], h[8:12], h[12:16], h[16:20], h[20:])
}

func TestRandomnessBits(t *testing.T) {
	cases := []struct {
		name       string
		gen        func() string
		atLeast128 bool
	}{
		{"crypto/rand.Text (26 base32)", rand.Text, true},
		{"32 hex digits", func() string { b := make([]byte, 16); _, _ = rand.Read(b); return hex.EncodeToString(b) }, true},
		{"prefixed 32 hex", func() string { b := make([]byte, 16); _, _ = rand.Read(b); return "sess-" + hex.EncodeToString(b) }, true},
		{"uuid v4 (122 bits)", uuid4, false},
		{"16 hex digits", func() string { b := make([]byte, 8); _, _ = rand.Read(b); return hex.EncodeToString(b) }, false},
	}
	for _, c := range cases {
		bits, alphabet, varying := RandomnessBits(sample(64, c.gen))
		if (bits >= 128) != c.atLeast128 {
			t.Errorf("%s: estimated %.1f bits (alphabet %d, %d varying positions); want >= 128: %v", c.name, bits, alphabet, varying, c.atLeast128)
		}
	}
	counter := 0
	seq := sample(64, func() string { counter++; return fmt.Sprintf("session-%040d", counter) })
	if bits, _, _ := RandomnessBits(seq); bits >= 128 {
		t.Errorf("sequential ids estimated at %.1f bits", bits)
	}
}

func TestVisibleASCII(t *testing.T) {
	for s, want := range map[string]bool{"ABC-123_x~": true, "": false, "a b": false, "a\x01": false, "sessión": false, "a\x7f": false} {
		if got := VisibleASCII(s); got != want {
			t.Errorf("VisibleASCII(%q) = %v, want %v", s, got, want)
		}
	}
}
