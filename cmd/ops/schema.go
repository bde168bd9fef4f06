package main

import (
	"context"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/store"
)

func migrate(ctx context.Context, args []string) error {
	fs := newFlags("migrate", "[-status]",
		`Applies the migrations this build has and the database lacks, under a lock
(several at once are safe), and audits it. It is the only command that
migrates: every other one checks the schema at start and stops (exit 3) when
a migration is missing, or warns when a newer build migrated. Run it with the
migrator role (ops roles): a login in that role migrates as the role, so the
schema keeps one owner; the worker, operator and reader roles cannot. The
first time, before ops roles, run it as the database's owner.
-status prints the schema's version against this build's and changes nothing.`,
		`  IVSBATCH_DATABASE_URL=postgres://deployer@db/ivsbatch ops migrate
  ops migrate -status
`)
	status := fs.Bool("status", false, "print the schema's version and what is missing; change nothing")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	url, err := config.DatabaseURL(os.Getenv)
	if err != nil {
		return err
	}
	if !*status {
		return ops.Migrate(ctx, url, *operator, os.Stdout)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	s, err := store.ReadSchemaState(ctx, conn)
	if err != nil {
		return err
	}
	ops.PrintSchema(os.Stdout, s)
	if len(s.Missing) > 0 {
		return exitCode(3)
	}
	return nil
}

func roles(ctx context.Context, args []string) error {
	fs := newFlags("roles", "[-prefix ivsbatch_] [-apply]",
		`Prints the SQL that makes the roles a deployment needs, each a NOLOGIN group
with only the grants its commands use (migration 00012's role_grants lists
them per table):
  migrator  owns the schema; the only role that can migrate (ops migrate)
  worker    worker run
  operator  enqueue submit and status, ops requeue, budget, reconcile,
            prevalidate, worker pause and resume, enqueue rotate-keys
  reader    ops status, report, export and plan, enqueue status: reads, and
            appends its own audit rows
Nobody can update or delete audit_log rows (a trigger refuses it, whoever
asks). Give people and services logins in these groups, so that the audit
log's db_user names them. The SQL is idempotent; run it (or -apply) as the
database's owner or a superuser, after the first ops migrate or before it.
-apply runs it on IVSBATCH_DATABASE_URL.`,
		`  ops roles > roles.sql && psql -f roles.sql ivsbatch
  ops roles -apply
  ops roles -prefix staging_ -apply
`)
	prefix := fs.String("prefix", store.DefaultRolePrefix, "the roles' names start with this")
	apply := fs.Bool("apply", false, "run the SQL on IVSBATCH_DATABASE_URL instead of printing it")
	operator := operatorFlag(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	sql, err := store.RolesSQL(*prefix)
	if err != nil {
		return usageError(fs, "-prefix: %v", err)
	}
	if !*apply {
		_, err := os.Stdout.WriteString(sql)
		return err
	}
	url, err := config.DatabaseURL(os.Getenv)
	if err != nil {
		return err
	}
	return ops.ApplyRoles(ctx, url, *prefix, *operator, os.Stdout)
}
