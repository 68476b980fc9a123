package suitepkgs

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// List turns suites/all's imports into folders under the module root.
func TestListNamesSuiteFolders(t *testing.T) {
	got, err := List("go")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, "./suites/isolation") {
		t.Errorf("List = %v, want ./suites/isolation among them", got)
	}
	root := filepath.Join("..", "..", "..", "..")
	for _, p := range got {
		if fi, err := os.Stat(filepath.Join(root, p)); err != nil || !fi.IsDir() {
			t.Errorf("%s is not a folder under the module root: %v", p, err)
		}
	}
}
