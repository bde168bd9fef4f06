package ops_test

import (
	"testing"

	"github.com/ivsbatch/ivsbatch/ops"
)

// A zone is named as asked; the machine's is named from TZ; a zone that
// does not exist is an error naming it.
func TestLoadZone(t *testing.T) {
	env := func(tz string) func(string) string {
		return func(k string) string {
			if k == "TZ" {
				return tz
			}
			return ""
		}
	}
	for _, c := range []struct{ name, tz, want string }{
		{"Asia/Shanghai", "", "Asia/Shanghai"},
		{"UTC", "Asia/Shanghai", "UTC"},
		{"", "Asia/Shanghai", "Asia/Shanghai"},
		{"Local", ":Europe/Paris", "Europe/Paris"},
	} {
		loc, err := ops.LoadZone(c.name, env(c.tz))
		if err != nil || loc.String() != c.want {
			t.Errorf("LoadZone(%q) with TZ=%q = %v, %v; want %s", c.name, c.tz, loc, err, c.want)
		}
	}
	if loc, err := ops.LoadZone("", env("")); err != nil || loc == nil {
		t.Errorf("the machine's zone: %v, %v", loc, err)
	}
	if _, err := ops.LoadZone("Mars/Olympus", env("")); err == nil {
		t.Error("a zone that does not exist was accepted")
	}
}
