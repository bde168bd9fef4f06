package cli

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

func TestParseAcceptsFlagsAfterArguments(t *testing.T) {
	for _, args := range [][]string{
		{"-name", "n", "m.csv", "-quiet"},
		{"m.csv", "-name", "n", "-quiet"},
		{"-quiet", "m.csv", "-name=n"},
	} {
		fs := NewFlags("enqueue submit", "[flags] MANIFEST", "")
		fs.SetOutput(io.Discard)
		name, quiet := fs.String("name", "", ""), fs.Bool("quiet", false, "")
		pos, err := Parse(fs, args, "MANIFEST")
		if err != nil || len(pos) != 1 || pos[0] != "m.csv" || *name != "n" || !*quiet {
			t.Errorf("%q: pos %q name %q quiet %v err %v", args, pos, *name, *quiet, err)
		}
	}
	fs := NewFlags("x", "", "")
	fs.SetOutput(io.Discard)
	q := fs.Bool("q", false, "")
	if pos, err := Parse(fs, []string{"--", "-q"}, "ARG"); err != nil || pos[0] != "-q" || *q {
		t.Errorf("after --: pos %q q %v err %v", pos, *q, err)
	}
}

func TestParseMistakesAreUsageErrors(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		names []string
		want  string
	}{
		{[]string{}, []string{"MANIFEST"}, "worker pause: missing MANIFEST"},
		{[]string{"a", "b"}, []string{"MANIFEST"}, `worker pause: unexpected argument "b"`},
		{[]string{"stray"}, nil, `worker pause: unexpected argument "stray"`},
		{[]string{"-nope"}, nil, "flag provided but not defined: -nope"},
		{[]string{"-n", "x"}, nil, `invalid value "x" for flag -n`},
	} {
		var out bytes.Buffer
		fs := NewFlags("worker pause", "-reason TEXT", "Stops all IVS traffic.")
		fs.SetOutput(&out)
		fs.Int("n", 0, "a number")
		_, err := Parse(fs, tc.args, tc.names...)
		if Status(io.Discard, "worker", err) != ExitUsage {
			t.Errorf("%q: err %v, want exit 2", tc.args, err)
		}
		if s := out.String(); !strings.Contains(s, tc.want) || !strings.Contains(s, "usage: worker pause -reason TEXT") {
			t.Errorf("%q: output lacks %q or the usage:\n%s", tc.args, tc.want, s)
		}
	}
}

func TestHelpPrintsAboutFlagsAndExitCodes(t *testing.T) {
	var out bytes.Buffer
	fs := NewFlags("worker resume", "", "Lifts the account-wide pause.")
	fs.SetOutput(&out)
	_, err := Parse(fs, []string{"-h"})
	if !errors.Is(err, flag.ErrHelp) || Status(io.Discard, "worker", err) != ExitOK {
		t.Fatalf("err %v", err)
	}
	for _, want := range []string{"usage: worker resume", "Lifts the account-wide pause.", ExitCodes} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("help lacks %q:\n%s", want, out.String())
		}
	}
}

// coded is an error that says its exit code (store.SchemaError does).
type coded struct {
	msg  string
	code int
}

func (c coded) Error() string { return c.msg }
func (c coded) ExitCode() int { return c.code }

func TestStatus(t *testing.T) {
	conf := &envconf.Error{Name: "IVSBATCH_QUOTA", Value: "10/s", Want: "a number"}
	for _, tc := range []struct {
		err  error
		code int
		out  string
	}{
		{nil, 0, ""},
		{flag.ErrHelp, 0, ""},
		{ExitCode(3), 3, ""},
		{fmt.Errorf("ops: %w", ExitCode(2)), 2, ""},
		{errors.New("redis at x: refused"), 1, "p: redis at x: refused\n"},
		{fmt.Errorf("worker run: %w", conf), 2, "p: worker run: IVSBATCH_QUOTA=\"10/s\": want a number\n"},
		{fmt.Errorf("open: %w", coded{"schema behind", 3}), 3, "p: open: schema behind\n"},
		{&envconf.Missing{Name: "IVS_ENDPOINT", Want: "the IVS endpoint"}, 2, "p: IVS_ENDPOINT: not set: want the IVS endpoint\n"},
		{&envconf.Invalid{Err: errors.New("IVSBATCH_REDIS_URL and IVSBATCH_REDIS_ADDR are both set")}, 2,
			"p: IVSBATCH_REDIS_URL and IVSBATCH_REDIS_ADDR are both set\n"},
	} {
		var out bytes.Buffer
		if code := Status(&out, "p", tc.err); code != tc.code || out.String() != tc.out {
			t.Errorf("%v: code %d output %q, want %d %q", tc.err, code, out.String(), tc.code, tc.out)
		}
	}
}

func TestMainDispatch(t *testing.T) {
	cmds := []Command{{Name: "go", Summary: "goes", Run: func(ctx context.Context, args []string) error {
		if len(args) > 0 {
			return errors.New("boom")
		}
		return nil
	}}}
	for _, tc := range []struct {
		args []string
		code int
		out  string
	}{
		{nil, 2, "usage: p <command>"},
		{[]string{"-h"}, 0, "  go           goes"},
		{[]string{"help"}, 0, ExitCodes},
		{[]string{"nope"}, 2, `p: unknown command "nope"`},
		{[]string{"go"}, 0, ""},
		{[]string{"go", "x"}, 1, "p: boom\n"},
	} {
		var out bytes.Buffer
		if code := main("p", cmds, "footer\n", tc.args, &out); code != tc.code || !strings.Contains(out.String(), tc.out) {
			t.Errorf("%q: code %d output %q, want %d and %q", tc.args, code, out.String(), tc.code, tc.out)
		}
	}
}

func TestVersion(t *testing.T) {
	for args, want := range map[string]bool{"-version": true, "--version": true, "version": true,
		"-version x": false, "run": false, "": false} {
		if got := IsVersion(strings.Fields(args)); got != want {
			t.Errorf("IsVersion(%q) = %v, want %v", args, got, want)
		}
	}
	if line := VersionLine("worker"); !strings.HasPrefix(line, "worker ") || len(line) <= len("worker ") {
		t.Errorf("VersionLine = %q, want the program and a version", line)
	}
}
