package storetest

import (
	"database/sql"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/migrations"
)

// BehindURL returns the URL of a new database migrated to one migration
// before this build's (migrations.Latest()-1): what a deployment has after
// installing a new build and before "ops migrate". Opening a store on it
// fails with a *store.SchemaError (exit 3).
func BehindURL(t testing.TB) string {
	t.Helper()
	url := testenv.EmptyPostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	if _, err := p.UpTo(t.Context(), migrations.Latest()-1); err != nil {
		t.Fatalf("storetest: migrate to %d: %v", migrations.Latest()-1, err)
	}
	return url
}
