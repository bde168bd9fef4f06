// Package cli runs ivsbatch's commands (enqueue, worker, ops, demo,
// ivs-sim) the same way: a table of subcommands, "-h" that teaches on every
// one of them, flags accepted before and after positional arguments,
// SIGINT/SIGTERM cancelling the context, and the same exit codes everywhere:
//
//	0  done
//	1  failed (a server unreachable, a refused manifest, …); one line on stderr
//	2  usage or configuration: a bad flag, argument or environment variable
//	3  needs a human (ops reconcile, status -wait -timeout, a database
//	   lacking a migration: store.SchemaError)
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/internal/version"
)

// The exit codes of every command.
const (
	ExitOK         = 0
	ExitError      = 1
	ExitUsage      = 2
	ExitNeedsHuman = 3
)

// ExitCodes is the exit-code paragraph of every command's usage text.
const ExitCodes = "exit codes: 0 done, 1 failed, 2 usage or configuration error, 3 needs a human\n"

// Command is one subcommand.
type Command struct {
	Name, Summary string
	Run           func(ctx context.Context, args []string) error
}

// ExitCode, returned by a command, ends the process with that code after
// the command printed what it had to say.
type ExitCode int

func (e ExitCode) Error() string { return fmt.Sprintf("exit %d", int(e)) }

// Main runs the subcommand named by os.Args[1] and exits. footer follows the
// list of commands in the usage text (settings, where to read more).
// "-version" prints the build's version (VersionLine) instead.
func Main(prog string, commands []Command, footer string) {
	if IsVersion(os.Args[1:]) {
		fmt.Println(VersionLine(prog))
		os.Exit(ExitOK)
	}
	os.Exit(main(prog, commands, footer, os.Args[1:], os.Stderr))
}

// IsVersion reports whether args ask for the version: "-version",
// "--version" or "version" alone.
func IsVersion(args []string) bool {
	if len(args) != 1 {
		return false
	}
	switch args[0] {
	case "-version", "--version", "version":
		return true
	}
	return false
}

// VersionLine is what "<prog> -version" prints: "worker v1.4.0".
func VersionLine(prog string) string { return prog + " " + version.String() }

func main(prog string, commands []Command, footer string, args []string, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintf(stderr, "usage: %s <command> [flags]\n\ncommands:\n", prog)
		for _, c := range commands {
			fmt.Fprintf(stderr, "  %-12s %s\n", c.Name, c.Summary)
		}
		fmt.Fprintf(stderr, "\nRun \"%s <command> -h\" for what a command does and its flags.\n%s\n%s", prog, footer, ExitCodes)
	}
	if len(args) < 1 {
		usage()
		return ExitUsage
	}
	name, args := args[0], args[1:]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage()
		return ExitOK
	}
	for _, c := range commands {
		if c.Name == name {
			return Status(stderr, prog, runWithSignals(c.Run, args))
		}
	}
	fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prog, name)
	usage()
	return ExitUsage
}

// Run is Main for a program without subcommands (ivs-sim): run gets the
// arguments and a context cancelled by SIGINT/SIGTERM.
func Run(prog string, run func(ctx context.Context, args []string) error) {
	if IsVersion(os.Args[1:]) {
		fmt.Println(VersionLine(prog))
		os.Exit(ExitOK)
	}
	os.Exit(Status(os.Stderr, prog, runWithSignals(run, os.Args[1:])))
}

func runWithSignals(run func(context.Context, []string) error, args []string) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return run(ctx, args)
}

// ExitCoder is an error that says with which code a command ends on it
// (store.SchemaError: 3, someone must migrate the database).
type ExitCoder interface {
	error
	ExitCode() int
}

// Status returns the exit code for a command's error, printing the error
// on one line to stderr first unless the command already said everything
// (ExitCode, flag.ErrHelp). A configuration error (*envconf.Error, a
// missing setting *envconf.Missing, settings that cannot work together
// *envconf.Invalid) exits 2, an ExitCoder with its code.
// The message is escaped for the terminal (sink.Terminal): it may quote a
// manifest, a reference or a library's words.
func Status(stderr io.Writer, prog string, err error) int {
	var exit ExitCode
	var conf *envconf.Error
	var missing *envconf.Missing
	var invalid *envconf.Invalid
	var coded ExitCoder
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.As(err, &exit):
		return int(exit)
	case errors.As(err, &conf), errors.As(err, &missing), errors.As(err, &invalid):
		fmt.Fprintf(stderr, "%s: %s\n", prog, sink.Terminal(err.Error()))
		return ExitUsage
	case errors.As(err, &coded):
		fmt.Fprintf(stderr, "%s: %s\n", prog, sink.Terminal(err.Error()))
		return coded.ExitCode()
	}
	fmt.Fprintf(stderr, "%s: %s\n", prog, sink.Terminal(err.Error()))
	return ExitError
}
