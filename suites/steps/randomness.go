package steps

import (
	"math"
	"slices"
)

// RandomnessBits estimates how many bits of randomness a family of ids
// carries, from a sample of them: positions (up to the shortest id) that vary
// across the sample each carry log2 of the alphabet seen at varying
// positions; positions that never vary (prefixes, separators, version
// nibbles) carry nothing. With a few dozen samples this tells 128-bit ids
// (e.g. 26 base32 characters) from UUIDv4 (31 varying hex digits, 124 bits).
// It is an upper bound: it cannot see structure inside a varying position.
func RandomnessBits(ids []string) (bits float64, alphabet int, varying int) {
	if len(ids) < 2 {
		return 0, 0, 0
	}
	shortest := len(ids[0])
	for _, id := range ids {
		shortest = min(shortest, len(id))
	}
	seen := map[byte]bool{}
	for pos := range shortest {
		column := map[byte]bool{}
		for _, id := range ids {
			column[id[pos]] = true
		}
		if len(column) < 2 {
			continue
		}
		varying++
		for c := range column {
			seen[c] = true
		}
	}
	alphabet = len(seen)
	if alphabet < 2 {
		return 0, alphabet, varying
	}
	return float64(varying) * math.Log2(float64(alphabet)), alphabet, varying
}

// VisibleASCII reports whether s is non-empty and every byte is in 0x21-0x7E.
func VisibleASCII(s string) bool {
	return s != "" && !slices.ContainsFunc([]byte(s), func(b byte) bool { return b < 0x21 || b > 0x7e })
}
