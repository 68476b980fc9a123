package all

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

const suitesPkg = "github.com/mcpgw/conformance/suites/"

// everyPkg is not one suite but all of them as one (it imports this
// package), for the self-test.
const everyPkg = suitesPkg + "every"

// Every folder under suites/ with a Ginkgo suite (a test file calling
// RunSpecs) is imported by all.go, and all.go imports nothing else: make
// conformance, the self-test and mcpconf run exactly the suites listed there.
func TestImportsEveryGinkgoSuite(t *testing.T) {
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, "all.go", nil, parser.ImportsOnly)
	if err != nil {
		t.Fatal(err)
	}
	var imported []string
	for _, imp := range f.Imports {
		path, _ := strconv.Unquote(imp.Path.Value)
		imported = append(imported, path)
	}

	var suites []string
	err = filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, "_test.go") {
			return err
		}
		calls, err := callsRunSpecs(fset, path)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel("..", filepath.Dir(path))
		if pkg := suitesPkg + filepath.ToSlash(rel); calls && pkg != everyPkg && !slices.Contains(suites, pkg) {
			suites = append(suites, pkg)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(suites) == 0 {
		t.Fatal("no Ginkgo suite found under suites/")
	}
	for _, s := range suites {
		if !slices.Contains(imported, s) {
			t.Errorf("%s has a Ginkgo suite that suites/all/all.go does not import: add it there", s)
		}
	}
	for _, i := range imported {
		if !slices.Contains(suites, i) {
			t.Errorf("suites/all/all.go imports %s, which has no Ginkgo suite (no test file calls RunSpecs)", i)
		}
	}
}

func callsRunSpecs(fset *token.FileSet, path string) (bool, error) {
	f, err := parser.ParseFile(fset, path, nil, 0)
	if err != nil {
		return false, err
	}
	found := false
	ast.Inspect(f, func(n ast.Node) bool {
		call, ok := n.(*ast.CallExpr)
		if !ok {
			return !found
		}
		switch fn := call.Fun.(type) {
		case *ast.Ident:
			found = found || fn.Name == "RunSpecs"
		case *ast.SelectorExpr:
			found = found || fn.Sel.Name == "RunSpecs"
		}
		return !found
	})
	return found, nil
}
