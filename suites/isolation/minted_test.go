package isolation

import (
	"slices"
	"testing"
)

// ISO-7 looks for every downstream session id in the headers the upstream
// got; an empty id (a gateway that mints none) is in every header and made
// ISO-7 fail mcp-proxy for leaking nothing.
func TestMintedDropsEmptyIDs(t *testing.T) {
	if got := minted("", "abc", ""); !slices.Equal(got, []string{"abc"}) {
		t.Errorf("minted = %q, want [abc]", got)
	}
	if got := minted("", ""); len(got) != 0 {
		t.Errorf("minted of no ids = %q, want none", got)
	}
}
