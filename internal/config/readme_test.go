package config_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// The README's configuration table has one row per variable, and every
// variable the commands read (here, in internal/workermain and in cmd/) is
// in it, and nothing it lists is read nowhere.
func TestREADMEConfigurationTable(t *testing.T) {
	t.Parallel()
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "| variable | default | meaning |")
	if !ok {
		t.Fatal("README.md has no configuration table")
	}
	table, _, _ = strings.Cut(table, "\n\n")
	rows := map[string]int{}
	for _, m := range regexp.MustCompile("(?m)^\\| `([A-Z0-9_]+)` \\|").FindAllStringSubmatch(table, -1) {
		rows[m[1]]++
	}
	for name, n := range rows {
		if n > 1 {
			t.Errorf("README: %s has %d rows, want one", name, n)
		}
	}
	read := map[string]bool{}
	name := regexp.MustCompile(`"((?:IVSBATCH|IVS|AWS)_[A-Z0-9_]+)"`)
	secret := regexp.MustCompile(`secret\(get, "([A-Z0-9_]+)"\)`)
	for _, dir := range []string{".", "../workermain", "../../cmd/*", "../../objstore", "../../media", "../../ops"} {
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range name.FindAllStringSubmatch(string(src), -1) {
				read[m[1]] = true
			}
			for _, m := range secret.FindAllStringSubmatch(string(src), -1) {
				read[m[1]+"_FILE"] = true
			}
		}
	}
	for v := range read {
		if rows[v] == 0 {
			t.Errorf("README: %s is read but has no row in the configuration table", v)
		}
	}
	for v := range rows {
		if !read[v] && v != "IVSBATCH_PG_ADMIN_URL" { // tests' own
			t.Errorf("README: %s has a row but nothing reads it", v)
		}
	}
	if len(read) < 40 {
		t.Errorf("found only %d variables read: the scan is broken", len(read))
	}
}
