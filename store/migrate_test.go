package store_test

import (
	"context"
	"database/sql"
	"testing"

	"github.com/google/go-cmp/cmp"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx", for goose
	"github.com/pressly/goose/v3"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/migrations"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// Counts kept before migration 00011 ("<code> <verdict>" in one column)
// read the same after it, and go back to the old form when it is undone.
func TestVerdictKeyMigration(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := testenv.EmptyPostgresURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	p, err := goose.NewProvider(goose.DialectPostgres, db, migrations.FS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.UpTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO batches (name, manifest_sha256) VALUES ('old', 'old')`); err != nil {
		t.Fatal(err)
	}
	// Three verdicts, one code without a verdict (counted by its error
	// code), one final record with neither.
	if _, err := db.ExecContext(ctx, `
		INSERT INTO records (batch_id, ref, line, shape, status, verdict, verification_code, last_error_code)
		VALUES (1, 'a', 2, 'name', 'done', 'valid', 1000, NULL), (1, 'b', 3, 'name', 'done', 'valid', 1000, NULL),
		       (1, 'c', 4, 'name', 'done', 'invalid', 2001, NULL), (1, 'd', 5, 'name', 'review', NULL, 3001, 'x.code'),
		       (1, 'e', 6, 'name', 'failed', NULL, NULL, 'IVS.0101')`); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	st := storetest.OpenURL(t, url)
	bs, err := st.GetBatchStatus(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	want := map[store.VerdictKey]int{{Code: 1000, Verdict: "valid"}: 2, {Code: 2001, Verdict: "invalid"}: 1}
	if diff := cmp.Diff(want, bs.ByVerdict); diff != "" {
		t.Errorf("by verdict after the migration (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"x.code": 1, "IVS.0101": 1}, bs.ByError); diff != "" {
		t.Errorf("by error after the migration (-want +got):\n%s", diff)
	}
	if _, err := p.DownTo(ctx, 10); err != nil {
		t.Fatal(err)
	}
	rows, err := db.QueryContext(ctx, `SELECT verdict, sum(n)::int FROM record_counts WHERE verdict <> '' GROUP BY 1`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	old := map[string]int{}
	for rows.Next() {
		var k string
		var n int
		if err := rows.Scan(&k, &n); err != nil {
			t.Fatal(err)
		}
		old[k] = n
	}
	if diff := cmp.Diff(map[string]int{"1000 valid": 2, "2001 invalid": 1}, old); diff != "" {
		t.Errorf("record_counts after undoing the migration (-want +got):\n%s", diff)
	}
}
