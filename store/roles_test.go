package store_test

import (
	"context"
	"database/sql"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ivsbatch/ivsbatch/migrations"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// mustRefuse runs sql on pool and fails the test unless Postgres refuses it
// (insufficient privilege, or the audit log's append-only trigger).
func mustRefuse(t *testing.T, pool *pgxpool.Pool, who, sql string, args ...any) {
	t.Helper()
	_, err := pool.Exec(context.Background(), sql, args...)
	if err == nil {
		t.Errorf("%s: %q was allowed", who, sql)
		return
	}
	if !strings.Contains(err.Error(), "permission denied") && !strings.Contains(err.Error(), "must be owner") &&
		!strings.Contains(err.Error(), "append-only") {
		t.Errorf("%s: %q: %v; want permission denied or append-only", who, sql, err)
	}
}

// The reader reads and appends its own audit row, nothing more; nobody,
// the owner and a superuser included, updates, deletes or truncates the
// audit log; each row carries the login that wrote it.
func TestRolesReaderAndAuditLog(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	admin := storetest.OpenURL(t, url)
	batch := opsBatch(t, admin, 3)
	finishAs(t, admin, pipeline.StatusFailed, "IVS.0101")
	roles := storetest.MakeRoles(t, url)

	reader := storetest.OpenURL(t, roles.URL[store.RoleReader])
	if bs, err := reader.GetBatchStatus(ctx, batch); err != nil || bs.ByError["IVS.0101"] != 1 {
		t.Fatalf("reader: batch status %+v %v", bs, err)
	}
	if err := reader.Audit(ctx, store.AuditEntry{Operator: "bi", Command: "export", BatchID: batch}); err != nil {
		t.Fatalf("reader: audit row: %v", err)
	}
	rp := reader.Pool()
	mustRefuse(t, rp, "reader", `UPDATE records SET status = 'pending' WHERE batch_id = $1`, batch)
	mustRefuse(t, rp, "reader", `DELETE FROM records WHERE batch_id = $1`, batch)
	mustRefuse(t, rp, "reader", `UPDATE batches SET max_billed = 1 WHERE id = $1`, batch)
	mustRefuse(t, rp, "reader", `INSERT INTO batches (name, manifest_sha256) VALUES ('x', 'x')`)
	mustRefuse(t, rp, "reader", `UPDATE account_state SET paused = true`)
	mustRefuse(t, rp, "reader", `UPDATE audit_log SET operator = 'someone else'`)
	mustRefuse(t, rp, "reader", `DELETE FROM audit_log`)
	mustRefuse(t, rp, "reader", `CREATE TABLE mine (x int)`)

	operator := storetest.OpenURL(t, roles.URL[store.RoleOperator])
	mustRefuse(t, operator.Pool(), "operator", `UPDATE audit_log SET reason = 'edited'`)
	mustRefuse(t, operator.Pool(), "operator", `DELETE FROM audit_log`)
	mustRefuse(t, operator.Pool(), "operator", `ALTER TABLE records ADD COLUMN x int`)
	mustRefuse(t, admin.Pool(), "superuser", `UPDATE audit_log SET reason = 'edited'`)
	mustRefuse(t, admin.Pool(), "superuser", `DELETE FROM audit_log`)
	mustRefuse(t, admin.Pool(), "superuser", `TRUNCATE audit_log`)
	if _, err := admin.Pool().Exec(ctx, `INSERT INTO audit_log (operator, command, db_user) VALUES ('x', 'forged', 'someone')`); err != nil {
		t.Fatal(err)
	}

	rows, err := admin.ListAudit(ctx, "", 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("audit rows %+v %v; want 2", rows, err)
	}
	if rows[1].DBUser != roles.Login[store.RoleReader] || rows[1].Operator != "bi" {
		t.Errorf("reader's audit row: db_user %q operator %q; want %q, bi", rows[1].DBUser, rows[1].Operator, roles.Login[store.RoleReader])
	}
	if rows[0].DBUser != "postgres" {
		t.Errorf("a declared db_user was kept: %q; want the session's user", rows[0].DBUser)
	}
}

// The operator's requeue, forced or not, is audited with the login that
// ran it; the worker processes records with its own grants.
func TestRolesOperatorAndWorker(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	roles := storetest.MakeRoles(t, url)
	admin := storetest.OpenURL(t, url)
	batch := opsBatch(t, admin, 2)
	worker := storetest.OpenURL(t, roles.URL[store.RoleWorker], store.WithKeyring(admin.Keyring()))
	finishAs(t, worker, pipeline.StatusFailed, "IVS.0101")
	finishAs(t, worker, pipeline.StatusDone, "")
	mustRefuse(t, worker.Pool(), "worker", `INSERT INTO batches (name, manifest_sha256) VALUES ('x', 'x')`)
	mustRefuse(t, worker.Pool(), "worker", `DELETE FROM records`)

	operator := storetest.OpenURL(t, roles.URL[store.RoleOperator], store.WithKeyring(admin.Keyring()))
	a := &store.AuditEntry{Operator: "claimed-name", Command: "requeue"}
	res, err := operator.Requeue(ctx, store.RequeueFilter{BatchID: batch}, store.RequeueOptions{Force: true, Reason: "ticket 1: dispute"}, a)
	if err != nil || res.Requeued != 2 || res.Forced != 1 {
		t.Fatalf("operator requeue: %+v %v", res, err)
	}
	rows, err := admin.ListAudit(ctx, "", 10)
	if err != nil || len(rows) != 2 {
		t.Fatalf("audit rows %+v %v; want requeue.start and requeue", rows, err)
	}
	for _, r := range rows {
		if r.DBUser != roles.Login[store.RoleOperator] || r.Operator != "claimed-name" || r.Reason != "ticket 1: dispute" {
			t.Errorf("audit row %s: db_user %q operator %q reason %q", r.Command, r.DBUser, r.Operator, r.Reason)
		}
	}
	if rows[1].Command != "requeue.start" || rows[0].Command != "requeue" || rows[0].Result["start_row"] != float64(rows[1].ID) {
		t.Errorf("audit rows %s, %s (%v); want requeue.start then requeue naming it", rows[1].Command, rows[0].Command, rows[0].Result)
	}
}

// Only the migrator migrates: on a database one migration behind, with the
// roles made (and the schema handed to the migrator), the worker, operator
// and reader fail to apply it and the migrator applies it, granting the
// new tables to the roles as it goes.
func TestRolesOnlyMigratorMigrates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.BehindURL(t)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest := migrations.Latest()
	roles := storetest.MakeRoles(t, url)
	for _, k := range []string{store.RoleWorker, store.RoleOperator, store.RoleReader} {
		if applied, err := store.Migrate(ctx, roles.URL[k]); err == nil {
			t.Errorf("%s migrated (%v)", k, applied)
		}
	}
	applied, err := store.Migrate(ctx, roles.URL[store.RoleMigrator])
	if err != nil || !slices.Equal(applied, []int64{latest}) {
		t.Fatalf("migrator: %v %v; want [%d] applied", applied, err, latest)
	}
	reader := storetest.OpenURL(t, roles.URL[store.RoleReader])
	if err := reader.Audit(ctx, store.AuditEntry{Operator: "bi", Command: "report"}); err != nil {
		t.Errorf("reader after the migrator's migration: %v", err)
	}
	var owner string
	if err := db.QueryRowContext(ctx, `SELECT tableowner FROM pg_tables WHERE tablename = 'role_grants'`).Scan(&owner); err != nil ||
		owner != roles.Prefix+store.RoleMigrator {
		t.Errorf("the new table belongs to %q (%v); want the migrator role", owner, err)
	}
}
