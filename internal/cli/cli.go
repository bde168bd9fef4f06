// Package cli runs the subcommands of ivsbatch's commands (enqueue, worker,
// ops) the same way: a table of commands, "-h" that teaches, SIGINT/SIGTERM
// cancelling the context, and exit codes 0 (done), 1 (failed), 2 (usage) or
// the code a command asks for with ExitCode.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

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
func Main(prog string, commands []Command, footer string) {
	usage := func() {
		fmt.Fprintf(os.Stderr, "usage: %s <command> [flags]\n\ncommands:\n", prog)
		for _, c := range commands {
			fmt.Fprintf(os.Stderr, "  %-12s %s\n", c.Name, c.Summary)
		}
		fmt.Fprintf(os.Stderr, "\nRun \"%s <command> -h\" for what a command does and its flags.\n%s", prog, footer)
	}
	if len(os.Args) < 2 {
		usage()
		os.Exit(2)
	}
	name, args := os.Args[1], os.Args[2:]
	if name == "-h" || name == "-help" || name == "--help" || name == "help" {
		usage()
		return
	}
	for _, c := range commands {
		if c.Name != name {
			continue
		}
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		err := c.Run(ctx, args)
		stop()
		os.Exit(exitStatus(prog, err))
	}
	fmt.Fprintf(os.Stderr, "%s: unknown command %q\n", prog, name)
	usage()
	os.Exit(2)
}

func exitStatus(prog string, err error) int {
	var exit ExitCode
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &exit):
		return int(exit)
	}
	fmt.Fprintf(os.Stderr, "%s: %v\n", prog, err)
	return 1
}
