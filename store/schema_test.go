package store_test

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/migrations"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// A store never migrates: on a database one migration behind it stops with
// a SchemaError naming the missing version (exit 3, run ops migrate);
// Migrate brings it up; a database a newer build migrated is only a warning.
func TestOpenChecksSchemaVersion(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.BehindURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest := migrations.Latest()
	_, err = store.Open(ctx, url, store.WithKeyring(testenv.Keyring(t)))
	var se *store.SchemaError
	if !errors.As(err, &se) || se.Have != latest-1 || se.Want != latest || !slices.Equal(se.Missing, []int64{latest}) ||
		se.ExitCode() != 3 {
		t.Fatalf("open on an old schema: %v; want a SchemaError at %d missing %d, exit 3", err, latest-1, latest)
	}
	applied, err := store.Migrate(ctx, url)
	if err != nil || !slices.Equal(applied, []int64{latest}) {
		t.Fatalf("migrate: %v %v; want [%d] applied", applied, err, latest)
	}
	if applied, err := store.Migrate(ctx, url); err != nil || len(applied) != 0 {
		t.Fatalf("migrate again: %v %v; want nothing applied", applied, err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO goose_db_version (version_id, is_applied) VALUES ($1, true)`, latest+1); err != nil {
		t.Fatal(err)
	}
	st := storetest.OpenURL(t, url) // newer schema: a warning, not an error
	state, err := store.ReadSchemaState(ctx, st.Pool())
	if err != nil || !slices.Equal(state.Newer, []int64{latest + 1}) || len(state.Missing) != 0 {
		t.Fatalf("schema state %+v %v; want %d newer", state, err, latest+1)
	}
}
