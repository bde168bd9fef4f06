package testenv

import (
	"context"
	"database/sql"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for the migrations

	"github.com/ivsbatch/ivsbatch/migrations"
)

// DefaultPGAdminURL is where tests create their databases unless
// IVSBATCH_PG_ADMIN_URL says otherwise.
const DefaultPGAdminURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// PostgresURL creates a database for this test with every migration
// applied, as `ops migrate` leaves it, and returns its URL. The database is
// dropped (with its connections) when the test ends.
func PostgresURL(t testing.TB) string {
	t.Helper()
	u := EmptyPostgresURL(t)
	db, err := sql.Open("pgx", u)
	if err != nil {
		t.Fatalf("testenv: open database: %v", err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if _, err := migrations.Up(ctx, db); err != nil {
		t.Fatalf("testenv: migrate the test database: %v", err)
	}
	return u
}

// EmptyPostgresURL creates an empty database for this test (no migration
// applied) and returns its URL. The database is dropped (with its
// connections) when the test ends.
func EmptyPostgresURL(t testing.TB) string {
	t.Helper()
	admin := os.Getenv("IVSBATCH_PG_ADMIN_URL")
	if admin == "" {
		admin = DefaultPGAdminURL
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, admin)
	if err != nil {
		t.Fatalf("testenv: connect to Postgres at IVSBATCH_PG_ADMIN_URL (%s): %v; run scripts/services.sh", redact(admin), err)
	}
	defer conn.Close(ctx)
	name := uniqueName("ivsbatch_test")
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		t.Fatalf("testenv: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, admin)
		if err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("testenv: drop database %s: %v", name, err)
		}
	})
	u, err := url.Parse(admin)
	if err != nil {
		t.Fatalf("testenv: parse admin url: %v", err)
	}
	u.Path = "/" + name
	return u.String()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparseable)"
	}
	return u.Redacted()
}
