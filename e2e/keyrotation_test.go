package e2e_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// The index key rotated end to end with the shipped binaries: a batch is
// verified under the old index key; workers restart with the new key and
// the old one as IVSBATCH_PII_INDEX_KEY_PREVIOUS; an identical record
// submitted then (enqueue submit, under the new key) reuses the verdict
// made under the old key, without a call; enqueue rekey moves every value
// and says none is left; with the new key alone both records of the person
// are found and nothing is under the old key.
func TestIndexKeyRotationEndToEnd(t *testing.T) {
	t.Parallel()
	h := newHarness(t, ivssim.Config{Quota: 20})
	p := newProcesses(t, h)
	bin := filepath.Dir(p.bin)
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/enqueue")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	row := pick(t, h, pipeline.ShapeName, 1000)
	row.Ref = "before"
	first := p.start("-concurrency", "4")
	b1 := h.submitRows([]e2e.Row{row}, "before.csv")
	h.wait(b1, 3*time.Minute)
	if err := first.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	_ = first.Wait()
	billed := h.sim.Ledger().TotalBilled

	newIndex := bytes.Repeat([]byte{0x5a}, 32)
	oldIndex := envValue(t, p.env, "IVSBATCH_PII_INDEX_KEY")
	rotating := append(slices.Clip(p.env), "IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(newIndex),
		"IVSBATCH_PII_INDEX_KEY_PREVIOUS="+oldIndex)
	run := func(env []string, args ...string) (string, error) {
		cmd := exec.CommandContext(h.ctx, filepath.Join(bin, args[0]), args[1:]...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	worker := exec.Command(p.bin, "run", "-concurrency", "4")
	worker.Env, worker.Stdout, worker.Stderr = rotating, p.out, p.out
	if err := worker.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = worker.Process.Kill(); _ = worker.Wait() })
	again := row
	again.Ref = "after"
	manifest := filepath.Join(t.TempDir(), "after.csv")
	if err := os.WriteFile(manifest, e2e.CSV([]e2e.Row{again}, "s3://"+bucket+"/"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := run(rotating, "enqueue", "submit", "-quiet", manifest)
	m := regexp.MustCompile(`batch_id=(\d+)`).FindStringSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("enqueue submit during the rotation: %v\n%s", err, out)
	}
	b2, _ := strconv.ParseInt(m[1], 10, 64)
	h.wait(b2, 3*time.Minute)
	recs, err := h.st.ListRecords(h.ctx, b2)
	if err != nil || len(recs) != 1 || recs[0].LinkedRecordID == nil || h.sim.Ledger().TotalBilled != billed {
		t.Fatalf("the identical record during the rotation: %+v %v, billed %d → %d; want the old key's verdict reused",
			recs, err, billed, h.sim.Ledger().TotalBilled)
	}

	out, err = run(rotating, "enqueue", "rekey", "-chunk", "1")
	if err != nil || !strings.Contains(out, "none left under another key") {
		t.Fatalf("enqueue rekey: %v\n%s", err, out)
	}
	data := envValue(t, p.env, "IVSBATCH_PII_KEYS")
	id, b64, _ := strings.Cut(data, ":")
	key, _ := base64.StdEncoding.DecodeString(b64)
	only, err := pii.NewKeyring(map[string][]byte{id: key}, id, newIndex)
	if err != nil {
		t.Fatal(err)
	}
	st, err := store.Open(h.ctx, h.dbURL, store.WithKeyring(only))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.IndexedElsewhere(h.ctx); err != nil || n != 0 {
		t.Fatalf("after rekey %d records under the old index key (%v)", n, err)
	}
	found, err := st.FindByIDNumber(h.ctx, row.IDNumber, 10)
	if err != nil || len(found) != 2 {
		t.Fatalf("with the new index key alone: %d records of the person (%v); want both batches'", len(found), err)
	}
}

// envValue is name's value in env (the last one set).
func envValue(t *testing.T, env []string, name string) string {
	t.Helper()
	v, ok := "", false
	for _, kv := range env {
		if rest, found := strings.CutPrefix(kv, name+"="); found {
			v, ok = rest, true
		}
	}
	if !ok {
		t.Fatalf("%s not in the environment", name)
	}
	return v
}
