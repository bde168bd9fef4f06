package cli

import (
	"errors"
	"flag"
	"fmt"
	"strings"
)

// NewFlags returns the flag set of a (sub)command named name ("worker
// resume"), whose -h prints the synopsis, what the command does (about), its
// flags and the exit codes. Flag errors are returned, not fatal.
func NewFlags(name, synopsis, about string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprintf(out, "usage: %s %s\n", name, strings.TrimSpace(synopsis))
		if about = strings.TrimSpace(about); about != "" {
			fmt.Fprintf(out, "\n%s\n", about)
		}
		n := 0
		fs.VisitAll(func(*flag.Flag) { n++ })
		if n > 0 {
			fmt.Fprintln(out, "\nflags:")
			fs.PrintDefaults()
		}
		fmt.Fprintf(out, "\n%s", ExitCodes)
	}
	return fs
}

// Parse parses args with fs, accepting flags before, between and after the
// positional arguments ("--" ends the flags), and returns the positional
// arguments, which must be exactly as many as names (their names in the
// usage message). -h returns flag.ErrHelp after printing the usage; a bad
// flag or a wrong number of arguments prints the problem and the usage and
// returns ExitCode(2).
func Parse(fs *flag.FlagSet, args []string, names ...string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, ExitCode(ExitUsage) // the flag package printed the error and the usage
		}
		rest := fs.Args()
		if len(rest) == 0 {
			break
		}
		if i := len(args) - len(rest); i > 0 && args[i-1] == "--" {
			pos = append(pos, rest...)
			break
		}
		pos, args = append(pos, rest[0]), rest[1:]
	}
	switch {
	case len(pos) < len(names):
		return nil, Usagef(fs, "missing %s", names[len(pos)])
	case len(pos) > len(names):
		return nil, Usagef(fs, "unexpected argument %q", pos[len(names)])
	}
	return pos, nil
}

// Usagef prints a usage mistake and the usage of fs, and returns
// ExitCode(2).
func Usagef(fs *flag.FlagSet, format string, a ...any) error {
	fmt.Fprintf(fs.Output(), "%s: %s\n\n", fs.Name(), fmt.Sprintf(format, a...))
	fs.Usage()
	return ExitCode(ExitUsage)
}
