// Package config reads ivsbatch's settings from the environment. It is the
// only code below cmd/ that does: every package keeps a Config of plain
// values (with its defaults and validation), and a command's Main fills
// those from here (ParseEnv) or a test writes them directly.
//
// Every reader takes the lookup function (os.Getenv in production) and
// parses strictly through envconf: an unset or empty variable takes the
// default, a bad value is an *envconf.Error naming the variable (the
// commands exit 2 on it).
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
)

// Secret reads NAME, or the file named by NAME_FILE (trailing newline
// trimmed): credentials come from the environment or mounted files, never
// from flags.
func Secret(get envconf.Lookup, name string) (string, error) { return secret(get, name) }

func secret(get envconf.Lookup, name string) (string, error) {
	if v := get(name); v != "" {
		return v, nil
	}
	path := get(name + "_FILE")
	if path == "" {
		return "", nil
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return "", &envconf.Error{Name: name + "_FILE", Value: path, Want: fmt.Sprintf("a readable file (%v)", unwrapPath(err))}
	}
	return strings.TrimRight(string(b), "\r\n"), nil
}

// unwrapPath drops the path from an *os.PathError (the message names it
// already).
func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// LogLevel is a serving command's log level, IVSBATCH_LOG_LEVEL (default
// INFO). A bad value is returned beside INFO for the serving subcommand to
// report, so that the command's other subcommands still run.
func LogLevel(get envconf.Lookup) (slog.Level, error) {
	return envconf.LogLevel(get, "IVSBATCH_LOG_LEVEL", slog.LevelInfo)
}
