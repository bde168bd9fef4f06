package e2e_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// The shipped commands under the least-privilege roles, as a deployment
// runs them. On a database one migration behind, every command stops
// (exit 3) naming ops migrate, and only the migrator can migrate. Then the
// operator submits, requeues, pauses, budgets and reconciles, each audited
// with its login; the
// reader runs status, plan, report and export, and cannot change a row;
// on a read-only session (a replica) report and export still work and say
// that their audit row was not written.
func TestCommandsUnderRoles(t *testing.T) {
	t.Parallel()
	bin := buildCommands(t)
	ctx := context.Background()
	url := storetest.BehindURL(t)
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(3*i), byte(11+i)
	}
	base := append(cleanEnv(), "USER=", "IVSBATCH_REDIS_ADDR="+testenv.Redis(t),
		"IVSBATCH_PII_KEYS=roles:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index))
	as := func(dbURL string) []string { return append(slices.Clip(base), "IVSBATCH_DATABASE_URL="+dbURL) }

	// An older schema: commands stop, naming the fix.
	for _, args := range [][]string{{"ops", "status"}, {"enqueue", "status", "-batch", "1"}, {"worker", "status"}} {
		r := runCmd(t, bin, as(url), args...)
		r.want(t, 3, "database schema is at version", "run `ops migrate` with the migrator role")
		r.oneLine(t)
	}
	runCmd(t, bin, as(url), "ops", "migrate", "-status").want(t, 3, "not applied: [")

	roles := storetest.MakeRoles(t, url)
	for _, k := range []string{store.RoleWorker, store.RoleOperator, store.RoleReader} {
		runCmd(t, bin, as(roles.URL[k]), "ops", "migrate").want(t, 1, "apply migrations")
	}
	runCmd(t, bin, as(roles.URL[store.RoleMigrator]), "ops", "migrate").want(t, 0, "applied migrations [")
	runCmd(t, bin, as(roles.URL[store.RoleMigrator]), "ops", "migrate").want(t, 0, "nothing applied")
	runCmd(t, bin, as(roles.URL[store.RoleReader]), "ops", "migrate", "-status").want(t, 0, "database schema at version")
	// ops roles prints its SQL, and applying it again (as the owner) changes nothing that works.
	runCmd(t, bin, base, "ops", "roles", "-prefix", roles.Prefix).want(t, 0, "CREATE ROLE "+roles.Prefix+"reader NOLOGIN")
	runCmd(t, bin, base, "ops", "roles", "-prefix", "Bad-Prefix").want(t, 2, "-prefix")
	r := runCmd(t, bin, as(url), "ops", "roles", "-prefix", roles.Prefix, "-apply")
	r.want(t, 0, "are ready")
	if !regexp.MustCompile(`(?m)^` + roles.Prefix + `reader\s+audit_log\s+INSERT$`).MatchString(r.stdout) {
		t.Errorf("ops roles -apply does not list the reader's grant on audit_log:\n%s", r.stdout)
	}

	// The operator submits (one row refused), requeues it, pauses and resumes.
	operator := as(roles.URL[store.RoleOperator])
	dir := t.TempDir()
	manifest := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(manifest, []byte("ref,name,id_number\na,张三,11010519491231002X\nb,李四,110101199003078031\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = runCmd(t, bin, operator, "enqueue", "submit", "-quiet", "-operator", "alice", manifest)
	r.want(t, 0, "new batch")
	m := regexp.MustCompile(`batch_id=(\d+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no batch id in:\n%s", r.stdout)
	}
	batch := m[1]
	// The reader may not change a row (its failed requeue is audited as tried).
	reader := as(roles.URL[store.RoleReader])
	runCmd(t, bin, reader, "ops", "requeue", "-batch", batch, "-code", "id.check").want(t, 1, "permission denied")
	runCmd(t, bin, reader, "ops", "budget", "-batch", batch, "-max", "5").want(t, 1, "permission denied")
	runCmd(t, bin, reader, "worker", "pause", "-reason", "not mine").want(t, 1, "permission denied")
	runCmd(t, bin, operator, "ops", "requeue", "-batch", batch, "-code", "id.check", "-operator", "alice").want(t, 0, "re-queued 1")
	runCmd(t, bin, operator, "worker", "pause", "-reason", "invoice check", "-operator", "alice").want(t, 0, "paused")
	runCmd(t, bin, operator, "ops", "budget", "-batch", batch, "-max", "10", "-operator", "alice").want(t, 0, "")
	if r := runCmd(t, bin, operator, "ops", "reconcile", "-operator", "alice"); (r.code != 0 && r.code != 3) ||
		strings.Contains(r.stdout+r.stderr, "permission denied") {
		t.Errorf("ops reconcile as the operator: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	runCmd(t, bin, operator, "worker", "resume", "-operator", "alice").want(t, 0, "resumed")

	// The reader reads.
	out := t.TempDir()
	runCmd(t, bin, reader, "ops", "status", "-batch", batch).want(t, 0, "batch "+batch)
	runCmd(t, bin, reader, "ops", "plan", "-batch", batch).want(t, 0, "")
	runCmd(t, bin, reader, "enqueue", "status", "-batch", batch).want(t, 0, "")
	runCmd(t, bin, reader, "ops", "report", "-batch", batch, "-o", filepath.Join(out, "r.html"), "-operator", "bi").want(t, 0, "wrote")
	runCmd(t, bin, reader, "ops", "export", "-batch", batch, "-o", filepath.Join(out, "r.csv"), "-operator", "bi").want(t, 0, "wrote 2 records")

	// A replica: read-only sessions. The work is done; the missing audit row is said.
	replica := as(roles.URL[store.RoleReader] + "&default_transaction_read_only=on")
	r = runCmd(t, bin, replica, "ops", "export", "-batch", batch, "-o", filepath.Join(out, "replica.csv"))
	r.want(t, 0, "wrote 2 records", "its audit row was not written", "read-only transaction")
	if b, err := os.ReadFile(filepath.Join(out, "replica.csv")); err != nil || !strings.Contains(string(b), "李*") {
		t.Errorf("export on a replica: %v\n%s", err, b)
	}
	runCmd(t, bin, replica, "ops", "report", "-batch", batch, "-o", filepath.Join(out, "replica.html")).
		want(t, 0, "wrote", "its audit row was not written")
	runCmd(t, bin, replica, "ops", "status", "-batch", batch).want(t, 0, "batch "+batch)
	runCmd(t, bin, replica, "ops", "plan", "-batch", batch).want(t, 0, "")
	runCmd(t, bin, replica, "enqueue", "status", "-batch", batch).want(t, 0, "")

	admin := storetest.OpenURL(t, url)
	rows, err := admin.ListAudit(ctx, "", 20)
	if err != nil {
		t.Fatal(err)
	}
	type who struct{ command, operator, login string }
	var got []who
	for _, a := range rows {
		got = append(got, who{a.Command, a.Operator, a.DBUser})
	}
	op, rd := roles.Login[store.RoleOperator], roles.Login[store.RoleReader]
	want := []who{{"export", "bi", rd}, {"report", "bi", rd}, {"resume", "alice", op}, {"reconcile", "alice", op},
		{"budget", "alice", op}, {"pause", "alice", op},
		{"requeue", "alice", op}, {"requeue.start", "alice", op}, {"requeue", "unknown", rd}, {"requeue.start", "unknown", rd},
		{"submit", "alice", op}}
	if len(got) < len(want) || !slices.Equal(got[:len(want)], want) || !strings.Contains(rows[len(want)-3].Result["error"].(string), "permission denied") {
		t.Errorf("audit log, newest first:\n%v\nwant it to start with\n%v", got, want)
	}
	if first := rows[len(rows)-1]; first.Command != "migrate" || first.DBUser != roles.Login[store.RoleMigrator] {
		t.Errorf("first audit row: %s by %s; want migrate by the migrator's login", first.Command, first.DBUser)
	}
	if r := rows[len(rows)-2]; r.Command != "roles" || r.DBUser != "postgres" {
		t.Errorf("second audit row: %s by %s; want roles by the owner", r.Command, r.DBUser)
	}

	// Batches, records and the review queue: the reader reads them (ops
	// batches says it could not store finish times) and changes nothing; the
	// operator pauses and resumes a batch, audited with its login.
	runCmd(t, bin, reader, "ops", "batches").want(t, 0, batch+" ", "finish times not updated")
	runCmd(t, bin, reader, "ops", "find", "-ref", "a").want(t, 0, "record ", "张*")
	runCmd(t, bin, reader, "ops", "review").want(t, 0, "review queue empty")
	runCmd(t, bin, reader, "ops", "pause", "-batch", batch, "-operator", "bi").want(t, 1, "permission denied")
	runCmd(t, bin, reader, "ops", "review", "-decide", "approve", "-ref", "a", "-reason", "r").want(t, 1, "review: no record decided")
	runCmd(t, bin, operator, "ops", "pause", "-batch", batch, "-operator", "alice").want(t, 0, "open → paused")
	runCmd(t, bin, operator, "ops", "resume", "-batch", batch, "-operator", "alice").want(t, 0, "paused → open")
	rows, err = admin.ListAudit(ctx, "batch-pause", 5)
	if err != nil || len(rows) != 1 || rows[0].DBUser != op || rows[0].Operator != "alice" {
		t.Errorf("batch pause audit rows: %+v %v; want one by alice as %s", rows, err, op)
	}
}
