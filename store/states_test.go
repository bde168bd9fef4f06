package store_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// No query spells an attempt state or a record status: every one is built
// from the constants, which states.go alone turns into SQL. A string literal
// of the store's code holding one as a SQL literal ('in_flight') or being
// one ("in_flight") fails the test.
func TestStatesSpelledOnce(t *testing.T) {
	t.Parallel()
	names := map[string]bool{}
	for _, st := range append(append([]pipeline.Status{}, pipeline.OpenStatuses...), pipeline.TerminalStatuses...) {
		names[string(st)] = true
	}
	for _, st := range []store.AttemptState{store.AttemptReserved, store.AttemptInFlight, store.AttemptFinished, store.AttemptAbandoned} {
		names[string(st)] = true
	}
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	more, err := filepath.Glob("internal/*/*.go")
	if err != nil {
		t.Fatal(err)
	}
	checked := 0
	fset := token.NewFileSet()
	for _, file := range append(files, more...) {
		if strings.HasSuffix(file, "_test.go") || file == "states.go" {
			continue
		}
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			s, err := strconv.Unquote(lit.Value)
			if err != nil {
				t.Fatalf("%s: %v", fset.Position(lit.Pos()), err)
			}
			for name := range names {
				if s == name || strings.Contains(s, "'"+name+"'") {
					t.Errorf("%s: %q spelled outside states.go", fset.Position(lit.Pos()), name)
				}
			}
			return true
		})
	}
	if checked < 10 {
		t.Fatalf("checked %d files; run from the package's directory", checked)
	}
}
