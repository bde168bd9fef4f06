package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/config"
)

// ensureDB creates the database named in IVSBATCH_DATABASE_URL when it is
// missing (connecting to the server's "postgres" database to do so). Other
// databases on the server are left alone; `ops migrate` applies the schema.
func ensureDB(ctx context.Context, args []string, out io.Writer) error {
	fs := cli.NewFlags("demo ensure-db", "", `Creates the database named in IVSBATCH_DATABASE_URL when it is missing
(connecting to the server's "postgres" database to do so). Other databases on
the server are left alone. It does not migrate: run "ops migrate" next.`)
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	dbURL, err := config.DatabaseURL(os.Getenv)
	if err != nil {
		return err
	}
	u, err := url.Parse(dbURL)
	if err != nil || u.Scheme == "" {
		return fmt.Errorf("ensure-db: IVSBATCH_DATABASE_URL: want a postgres:// URL here (key=value strings are not supported)")
	}
	name := strings.TrimPrefix(u.Path, "/")
	if name == "" {
		return fmt.Errorf("ensure-db: database url names no database")
	}
	admin := *u
	admin.Path = "/postgres"
	conn, err := pgx.Connect(ctx, admin.String())
	if err != nil {
		return fmt.Errorf("ensure-db: connect to %s: %w", u.Host, err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return fmt.Errorf("ensure-db: look up %s: %w", name, err)
	}
	if !exists {
		if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
			return fmt.Errorf("ensure-db: create %s: %w", name, err)
		}
		fmt.Fprintf(out, "created database %s\n", name)
	}
	fmt.Fprintf(out, "database %s exists: migrate it with ops migrate\n", name)
	return nil
}
