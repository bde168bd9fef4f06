package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ivsbatch/ivsbatch/migrations"
)

// SchemaError says the database's schema is older than this build needs:
// only `ops migrate`, run with the migrator role, brings it up to date. A
// command ends on it with exit code 3 (needs a human).
type SchemaError struct {
	Have    int64   // the newest migration applied (0: none)
	Want    int64   // migrations.Latest
	Missing []int64 // this build's migrations the database lacks
}

func (e *SchemaError) Error() string {
	return fmt.Sprintf("database schema is at version %d, this build needs %d (migrations %v not applied): "+
		"run `ops migrate` with the migrator role first (see README, Roles and migrating)", e.Have, e.Want, e.Missing)
}

// ExitCode is 3, the commands' "needs a human" (internal/cli): someone
// must migrate the database.
func (e *SchemaError) ExitCode() int { return 3 }

// SchemaState is what the database holds against this build's migrations.
type SchemaState struct {
	Applied []int64 // every applied version, in order
	Missing []int64 // this build's migrations not applied
	Newer   []int64 // applied versions this build does not know (a newer build migrated)
}

// Current is the newest applied version (0: none).
func (s SchemaState) Current() int64 {
	if len(s.Applied) == 0 {
		return 0
	}
	return s.Applied[len(s.Applied)-1]
}

// ReadSchemaState compares the migrations applied to the database with the
// embedded ones. It only reads, so it works on a replica and as the reader.
func ReadSchemaState(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (SchemaState, error) {
	var st SchemaState
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass('goose_db_version') IS NOT NULL`).Scan(&exists); err != nil {
		return st, fmt.Errorf("store: read schema version: %w", err)
	}
	if exists {
		err := q.QueryRow(ctx, `SELECT coalesce(array_agg(DISTINCT version_id ORDER BY version_id), '{}')
			FROM goose_db_version WHERE version_id > 0 AND is_applied`).Scan(&st.Applied)
		if err != nil {
			return st, fmt.Errorf("store: read schema version: %w", err)
		}
	}
	known := migrations.Versions()
	for _, v := range known {
		if !slices.Contains(st.Applied, v) {
			st.Missing = append(st.Missing, v)
		}
	}
	for _, v := range st.Applied {
		if !slices.Contains(known, v) {
			st.Newer = append(st.Newer, v)
		}
	}
	return st, nil
}

// checkSchema stops (a *SchemaError) when the database lacks a migration
// and warns when a newer build migrated it.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	st, err := ReadSchemaState(ctx, pool)
	if err != nil {
		return err
	}
	if len(st.Missing) > 0 {
		return &SchemaError{Have: st.Current(), Want: migrations.Latest(), Missing: st.Missing}
	}
	if len(st.Newer) > 0 {
		slog.Warn("database schema is newer than this build: upgrade this command",
			"schema_version", st.Current(), "build_version", migrations.Latest())
	}
	return nil
}

// Migrate applies the embedded migrations to the database at url and
// returns the versions applied. When the login is a member of the role
// marked migrator (ops roles), the migrations run as that role (SET ROLE),
// so what they create belongs to it; other roles lack the privileges to
// migrate and fail.
func Migrate(ctx context.Context, url string) ([]int64, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, fmt.Errorf("store: parse database url: %w", err)
	}
	cfg.MaxConns = 2
	cfg.AfterConnect = func(ctx context.Context, c *pgx.Conn) error { return actAsMigrator(ctx, c) }
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("store: connect: %w", err)
	}
	defer pool.Close()
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	applied, err := migrations.Up(ctx, db)
	if err != nil {
		return applied, fmt.Errorf("store: %w", err)
	}
	return applied, nil
}

// actAsMigrator sets the session's role to the role marked migrator in
// this database (ops roles) when the login belongs to it. It reads the mark
// itself: the database may not hold migration 00012's functions yet.
func actAsMigrator(ctx context.Context, c *pgx.Conn) error {
	var role string
	err := c.QueryRow(ctx, `SELECT r.rolname FROM pg_db_role_setting s JOIN pg_roles r ON r.oid = s.setrole
		WHERE s.setdatabase = (SELECT oid FROM pg_database WHERE datname = current_database())
		  AND 'ivsbatch.role=migrator' = ANY (s.setconfig)
		  AND pg_has_role(session_user, r.oid, 'MEMBER') AND r.rolname <> current_user
		LIMIT 1`).Scan(&role)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("store: find the migrator role: %w", err)
	}
	_, err = c.Exec(ctx, "SET ROLE "+pgx.Identifier{role}.Sanitize())
	return err
}
