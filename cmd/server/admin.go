package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/cmdenv"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

func withStore(ctx context.Context, fn func(*store.Store) error) error {
	env, err := cmdenv.FromEnv(ctx, os.Getenv, cmdenv.Store)
	if err != nil {
		return err
	}
	defer env.Close()
	return fn(env.Store)
}

func tokenCreate(ctx context.Context, args []string) error {
	fs := cli.NewFlags("server token-create", "-name NAME -role viewer|operator|admin", `Makes an API token for a system and prints it once, on stdout: only its hash
is stored, so it cannot be shown again (revoke it and make another when
lost). Give it to the system as a secret (a file, a secret store) and send it
as "Authorization: Bearer TOKEN". Audited.`)
	name := fs.String("name", "", "what uses the token (shown in the audit log as token:NAME); required")
	role := fs.String("role", "viewer", "viewer (reads), operator (and submits, requeues, decides), admin")
	operator := fs.String("operator", config.Operator(os.Getenv), "who runs this, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return cli.Usagef(fs, "-role: %v", err)
	}
	if strings.TrimSpace(*name) == "" {
		return cli.Usagef(fs, "-name is required")
	}
	return withStore(ctx, func(st *store.Store) error {
		tok, t, err := server.CreateToken(ctx, st, *name, r, *operator)
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "token %d %q (%s) created; it is shown once:\n", t.ID, sink.Terminal(t.Name), t.Role)
		fmt.Println(tok)
		return nil
	})
}

func tokenList(ctx context.Context, args []string) error {
	fs := cli.NewFlags("server token-list", "", "Lists API tokens (never the tokens themselves): id, name, role, when created and by whom, last use, revocation.")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	return withStore(ctx, func(st *store.Store) error {
		list, err := st.ListAPITokens(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tname\trole\tcreated\tby\tlast used\trevoked")
		for _, t := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, sink.Terminal(t.Name), t.Role, t.CreatedAt.Format(time.RFC3339),
				sink.Terminal(t.CreatedBy), when(t.LastUsedAt), when(t.RevokedAt))
		}
		return tw.Flush()
	})
}

func when(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.Format(time.RFC3339)
}

func tokenRevoke(ctx context.Context, args []string) error {
	fs := cli.NewFlags("server token-revoke", "-id N", "Revokes an API token at once: its next request is refused. Audited.")
	id := fs.Int64("id", 0, "the token's id (server token-list); required")
	operator := fs.String("operator", config.Operator(os.Getenv), "who runs this, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *id <= 0 {
		return cli.Usagef(fs, "-id is required")
	}
	return withStore(ctx, func(st *store.Store) error {
		if err := server.RevokeToken(ctx, st, *id, *operator); err != nil {
			return err
		}
		fmt.Printf("token %d revoked\n", *id)
		return nil
	})
}

// readPassword reads a password from the first line of stdin (a pipe or a
// terminal; never a flag, which ps and shell history would show).
func readPassword(in io.Reader) (string, error) {
	if f, ok := in.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			fmt.Fprint(os.Stderr, "password (echoed; prefer a pipe): ")
		}
	}
	line, err := bufio.NewReader(io.LimitReader(in, auth.MaxPasswordLength+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input")
	}
	return line, nil
}

func userAdd(ctx context.Context, args []string) error {
	fs := cli.NewFlags("server user-add", "-name NAME -role viewer|operator|admin < password", `Adds an operator account for the console. The password is the first line of
standard input (at least 12 characters), stored as an argon2id hash. Audited.
  printf '%s\n' "$PASSWORD" | server user-add -name alice -role operator`)
	name := fs.String("name", "", "the username; required")
	role := fs.String("role", "viewer", "viewer, operator or admin")
	operator := fs.String("operator", config.Operator(os.Getenv), "who runs this, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	r, err := auth.ParseRole(*role)
	if err != nil {
		return cli.Usagef(fs, "-role: %v", err)
	}
	if *name == "" {
		return cli.Usagef(fs, "-name is required")
	}
	pw, err := readPassword(os.Stdin)
	if err != nil {
		return err
	}
	return withStore(ctx, func(st *store.Store) error {
		acc, err := server.AddAccount(ctx, st, *name, pw, r, *operator)
		if err != nil {
			return err
		}
		fmt.Printf("account %d %q (%s) added\n", acc.ID, sink.Terminal(acc.Username), acc.Role)
		return nil
	})
}

func userUpdate(ctx context.Context, args []string) error {
	fs := cli.NewFlags("server user-update", "-name NAME [-password] [-role ROLE] [-disable|-enable]", `Changes an operator account: -password reads a new one from standard input,
-role changes the role, -disable or -enable. Its sessions end. Audited.`)
	name := fs.String("name", "", "the username; required")
	password := fs.Bool("password", false, "read a new password from standard input")
	role := fs.String("role", "", "a new role: viewer, operator or admin")
	disable := fs.Bool("disable", false, "disable the account (it can no longer sign in)")
	enable := fs.Bool("enable", false, "enable a disabled account")
	operator := fs.String("operator", config.Operator(os.Getenv), "who runs this, for the audit log")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	var c server.AccountChange
	if *role != "" {
		r, err := auth.ParseRole(*role)
		if err != nil {
			return cli.Usagef(fs, "-role: %v", err)
		}
		c.Role = r
	}
	switch {
	case *disable && *enable:
		return cli.Usagef(fs, "-disable or -enable, not both")
	case *disable || *enable:
		c.Disable = disable
	}
	if *name == "" || (!*password && c.Role == "" && c.Disable == nil) {
		return cli.Usagef(fs, "-name and at least one of -password, -role, -disable, -enable are required")
	}
	if *password {
		pw, err := readPassword(os.Stdin)
		if err != nil {
			return err
		}
		c.Password = pw
	}
	return withStore(ctx, func(st *store.Store) error {
		if err := server.UpdateAccount(ctx, st, *name, c, *operator); err != nil {
			return err
		}
		fmt.Printf("account %q updated; its sessions ended\n", sink.Terminal(*name))
		return nil
	})
}

func userList(ctx context.Context, args []string) error {
	fs := cli.NewFlags("server user-list", "", "Lists operator accounts: id, username, role, created, disabled.")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	return withStore(ctx, func(st *store.Store) error {
		list, err := st.ListOperatorAccounts(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "id\tusername\trole\tcreated\tdisabled")
		for _, a := range list {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", a.ID, sink.Terminal(a.Username), a.Role, a.CreatedAt.Format(time.RFC3339), when(a.DisabledAt))
		}
		return tw.Flush()
	})
}
