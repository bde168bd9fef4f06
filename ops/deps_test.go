package ops

import (
	"go/build"
	"slices"
	"strings"
	"testing"
)

// ops reaches lost-task recovery through the recovery package, never
// through the worker: it depends on no package that runs a worker.
func TestNoWorkerDependency(t *testing.T) {
	const module = "github.com/ivsbatch/ivsbatch/"
	seen := map[string]bool{}
	var walk func(path, dir string, chain []string)
	walk = func(path, dir string, chain []string) {
		if seen[path] {
			return
		}
		seen[path] = true
		chain = append(slices.Clone(chain), path)
		if path == module+"worker" {
			t.Errorf("ops depends on the worker: %s", strings.Join(chain, " → "))
			return
		}
		pkg, err := build.Import(path, dir, 0)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, imp := range pkg.Imports {
			if strings.HasPrefix(imp, module) {
				walk(imp, pkg.Dir, chain)
			}
		}
	}
	walk(module+"ops", ".", nil)
	if !seen[module+"recovery"] || !seen[module+"store"] {
		t.Fatalf("walked %d packages without recovery or store: the walk is broken", len(seen))
	}
}
