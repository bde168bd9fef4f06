package e2e_test

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// Every shipped command's exit codes, each command started the way its -h
// says (README "Commands and exit codes"): 0 done; 1 failed; 2 usage or
// configuration — a bad flag, a bad setting, or a required one missing,
// named on stderr before any server is asked; 3 needs a human — a database
// lacking a migration, and what each command documents besides (ops
// reconcile, ops migrate -status, enqueue status -wait -timeout).
func TestCommandExitCodes(t *testing.T) {
	t.Parallel()
	bin := buildCommands(t)
	redisAddr := "IVSBATCH_REDIS_ADDR=" + testenv.Redis(t)
	dbURL := testenv.PostgresURL(t)
	noKeys := append(cleanEnv(), "USER=", redisAddr, "IVSBATCH_DATABASE_URL="+dbURL)
	env := append(slices.Clip(noKeys), smokeKeys()...)
	behind := append(append(cleanEnv(), "USER=", redisAddr, "IVSBATCH_DATABASE_URL="+storetest.BehindURL(t)), smokeKeys()...)
	with := func(base []string, kv ...string) []string { return append(slices.Clip(base), kv...) }

	dir := t.TempDir()
	manifest := filepath.Join(dir, "people.csv")
	if err := os.WriteFile(manifest, []byte("ref,name,id_number\na,张三,11010519491231002X\nb,李四,110101199003078031\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// demo report compares with what prepare expected: here nothing, so
	// the stored records differ.
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), []byte(`{"records":{}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCmd(t, bin, env, "enqueue", "submit", "-quiet", manifest)
	r.want(t, 0, "batch_id=")
	m := regexp.MustCompile(`batch_id=(\d+)`).FindStringSubmatch(r.stdout)
	if m == nil {
		t.Fatalf("no batch id in:\n%s", r.stdout)
	}
	batch := m[1]
	const missingKeys = "IVSBATCH_PII_KEYS: not set: want keys for personal data"
	sim := startSim(t, bin, cleanEnv())
	busy := "127.0.0.1:" + strconv.Itoa(testenv.FreePort(t))
	hold, err := listen(busy)
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()

	for _, c := range []struct {
		env   []string
		args  []string
		code  int
		texts []string
	}{
		// enqueue
		{env, []string{"enqueue", "status", "-batch", batch}, 0, []string{"batch " + batch}},
		{env, []string{"enqueue", "status", "-batch", "424242"}, 1, []string{"enqueue: "}},
		{env, []string{"enqueue", "status"}, 2, []string{"-batch is required"}},
		{noKeys, []string{"enqueue", "submit", manifest}, 2, []string{"enqueue: " + missingKeys}},
		{noKeys, []string{"enqueue", "rekey"}, 2, []string{"enqueue: " + missingKeys}},
		{with(env, "IVSBATCH_QUOTA=fast"), []string{"enqueue", "submit", manifest}, 2, []string{`enqueue: IVSBATCH_QUOTA="fast": want`}},
		{with(env, "IVSBATCH_DATABASE_URL=mysql://x"), []string{"enqueue", "status", "-batch", batch}, 2, []string{`IVSBATCH_DATABASE_URL="mysql://x"`}},
		{behind, []string{"enqueue", "status", "-batch", "1"}, 3, []string{"database schema is at version", "ops migrate"}},
		{env, []string{"enqueue", "status", "-batch", batch, "-wait", "-interval", "50ms", "-timeout", "200ms"}, 3, []string{"batch " + batch}},
		// ops
		{env, []string{"ops", "plan", "-batch", batch}, 0, nil},
		{env, []string{"ops", "budget", "-batch", "424242"}, 1, []string{"ops: "}},
		{env, []string{"ops", "plan"}, 2, []string{"-batch is required"}},
		{noKeys, []string{"ops", "export", "-batch", batch, "-o", "-"}, 2, []string{"ops: " + missingKeys}},
		{noKeys, []string{"ops", "find", "-ref", "a"}, 2, []string{"ops: " + missingKeys}},
		{noKeys, []string{"ops", "review"}, 2, []string{"ops: " + missingKeys}},
		{noKeys, []string{"ops", "prevalidate", "-batch", batch}, 2, []string{"ops: " + missingKeys}},
		{with(env, "IVSBATCH_PRICE_PER_CALL=cheap"), []string{"ops", "requeue", "-batch", batch, "-code", "id.check"}, 2,
			[]string{`ops: IVSBATCH_PRICE_PER_CALL="cheap": want`}},
		{with(env, "IVSBATCH_REDIS_DB=first"), []string{"ops", "status"}, 2, []string{`ops: IVSBATCH_REDIS_DB "first"`}},
		{behind, []string{"ops", "status"}, 3, []string{"database schema is at version", "ops migrate"}},
		{behind, []string{"ops", "migrate", "-status"}, 3, []string{"not applied: ["}},
		{env, []string{"worker", "pause", "-reason", "invoice check"}, 0, []string{"paused"}},
		{env, []string{"ops", "reconcile"}, 3, nil}, // the account is paused: a human decides
		// worker
		{env, []string{"worker", "status"}, 0, []string{"paused: "}},
		{env, []string{"worker", "resume"}, 0, []string{"resumed"}},
		{env, []string{"worker", "pause"}, 2, []string{"-reason is required"}},
		{noKeys, []string{"worker", "run"}, 2, []string{"worker: " + missingKeys}},
		{with(env, "IVSBATCH_REDIS_URL=redis://x:1", "IVSBATCH_REDIS_DB=1"), []string{"worker", "status"}, 2, []string{"worker: IVSBATCH_REDIS_URL and"}},
		{behind, []string{"worker", "status"}, 3, []string{"database schema is at version", "ops migrate"}},
		// demo
		{env, []string{"demo", "ensure-db"}, 0, []string{"exists"}},
		{env, []string{"demo", "report", "-batch", batch, "-out", dir}, 1, []string{"differ from what the population was built to produce"}},
		{env, []string{"demo", "report"}, 2, []string{"-batch is required"}},
		{noKeys, []string{"demo", "report", "-batch", batch, "-out", dir}, 2, []string{"demo: " + missingKeys}},
		{with(env, "IVS_ENDPOINT=ivs.example"), []string{"demo", "ledger"}, 2, []string{`demo: IVS_ENDPOINT="ivs.example"`}},
		{behind, []string{"demo", "report", "-batch", "1", "-out", dir}, 3, []string{"database schema is at version"}},
		// ivs-sim (no database)
		{with(cleanEnv(), "IVS_ENDPOINT="+sim), []string{"demo", "ledger"}, 0, []string{"simulator: "}},
		{cleanEnv(), []string{"ivs-sim", "-addr", busy}, 1, []string{"ivs-sim: listen " + busy}},
		{cleanEnv(), []string{"ivs-sim", "-quota", "x"}, 2, []string{`invalid value "x" for flag -quota`}},
		{with(cleanEnv(), "IVS_AK_FILE="+filepath.Join(dir, "none")), []string{"ivs-sim", "-addr", busy}, 2, []string{"ivs-sim: IVS_AK_FILE="}},
		// healthcheck (no settings)
		{cleanEnv(), []string{"healthcheck", sim + "/healthz"}, 0, nil},
		{cleanEnv(), []string{"healthcheck", "-timeout", "300ms", busy}, 1, []string{"healthcheck: http://" + busy + "/healthz"}},
		{cleanEnv(), []string{"healthcheck", "-timeout", "0", sim}, 2, []string{"-timeout must be positive"}},
	} {
		r := runCmd(t, bin, c.env, c.args...)
		r.want(t, c.code, c.texts...)
		if c.code == 2 && len(c.texts) > 0 && regexp.MustCompile(`^[a-z-]+: [A-Z_]+`).MatchString(c.texts[0]) {
			r.oneLine(t) // a setting: one line naming it
		}
	}
	// ops requeue -force over -max-forced: exit 2 and nothing changed
	// (both records with a verdict, as if verified).
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `UPDATE records SET status = 'done', verdict = 'valid', verification_code = 1000,
		finished_at = now() WHERE batch_id = $1::bigint`, batch); err != nil {
		t.Fatal(err)
	}
	runCmd(t, bin, env, "ops", "requeue", "-batch", batch, "-force", "-max-forced", "1",
		"-reason", "ticket 4711: customer disputes").want(t, 2, "2 records with a verdict would be re-verified, over the cap of 1: nothing changed")
	runCmd(t, bin, env, "ops", "requeue", "-batch", batch, "-dry-run").want(t, 0, "selected 2 records", "skipped 2 with a verdict")
}

// listen holds addr: a port in use that never answers.
func listen(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }
