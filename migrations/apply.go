package migrations

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"path"
	"strconv"
	"strings"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// Versions returns the versions of the embedded migrations, in order.
func Versions() []int64 {
	entries, err := fs.ReadDir(FS, ".")
	if err != nil {
		panic(err) // an embedded directory is always readable
	}
	var out []int64
	for _, e := range entries {
		name := e.Name()
		if path.Ext(name) != ".sql" {
			continue
		}
		num, _, _ := strings.Cut(name, "_")
		v, err := strconv.ParseInt(num, 10, 64)
		if err != nil {
			panic(fmt.Sprintf("migrations: %s does not start with a version number", name))
		}
		out = append(out, v)
	}
	return out
}

// Latest is the version of the newest embedded migration: the schema this
// build needs.
func Latest() int64 {
	v := Versions()
	return v[len(v)-1]
}

// Up applies the embedded migrations not yet applied to db and returns
// their versions. A Postgres session lock makes concurrent callers safe.
func Up(ctx context.Context, db *sql.DB) ([]int64, error) {
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return nil, fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, FS, goose.WithSessionLocker(locker))
	if err != nil {
		return nil, fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		return nil, fmt.Errorf("apply migrations: %w", err)
	}
	var applied []int64
	for _, r := range results {
		applied = append(applied, r.Source.Version)
	}
	return applied, nil
}
