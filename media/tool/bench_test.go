package tool_test

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/media/tool"
)

// BenchmarkRun is what confinement adds to one tool run: "true" started
// plainly with os/exec, then through Run with rlimits only (prlimit's exec,
// a fresh thread) and with Landlock (the ruleset too). A video costs two or
// three runs.
func BenchmarkRun(b *testing.B) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		b.Fatal(err)
	}
	b.Run("plain-exec", func(b *testing.B) {
		for b.Loop() {
			if err := exec.Command("true").Run(); err != nil {
				b.Fatal(err)
			}
		}
	})
	for _, sb := range []tool.Sandbox{tool.RlimitsOnly, tool.Landlock} {
		b.Run(string(sb), func(b *testing.B) {
			r, dir := tool.New(tool.Config{Sandbox: sb}), b.TempDir()
			for b.Loop() {
				if _, err := r.Run(context.Background(), tool.Job{Tool: "true", Dir: dir, Timeout: time.Minute}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
