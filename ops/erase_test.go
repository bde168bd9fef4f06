package ops_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
	"github.com/ivsbatch/ivsbatch/worker"
)

const (
	erased1 = "11010119900307803X"
	other   = "110101199003071234"
)

// ops erase finds one person's records across batches through the blind
// index of the id number (typed as on a form), deletes their kept pictures,
// removes their personal data and digest, keeps the verdict, leaves an open
// record alone and says so, touches nobody else, and audits the reason
// without the id number.
func TestErasePerson(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	st := storetest.Open(t)
	dir := t.TempDir()
	objs, err := objstore.New(ctx, objstore.Config{})
	if err != nil {
		t.Fatal(err)
	}
	pics := worker.PictureBucket{Store: objs, Prefix: "file://" + dir}
	_, one := finished(t, st, "e1", dir, []store.NewRecord{person("a", erased1), person("b", other)})
	_, two := finished(t, st, "e2", dir, []store.NewRecord{person("a2", erased1), person("open", erased1)}, "open")
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET input_digest = '\x0102030405060708' WHERE id = $1`, one["a"]); err != nil {
		t.Fatal(err)
	}
	req, err := ops.ReadErasureRequest(strings.NewReader("# request 2026-117\n110101 19900307 803x\n"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := ops.Erase(ctx, st, st.Keyring(), ops.EraseOptions{Request: req, Reason: "request 2026-117", Operator: "dpo", Pictures: pics})
	if err != nil {
		t.Fatal(err)
	}
	if res.Found != 3 || res.Erased != 2 || res.Pictures != 2 || len(res.Open) != 1 || res.Open[0] != two["open"] {
		t.Fatalf("erase: %+v; want 3 found, 2 erased with their pictures, the open one listed", res)
	}
	for _, id := range []int64{one["a"], two["a2"]} {
		if w := holds(t, st, id); w != (what{exists: true}) {
			t.Errorf("erased record %d holds %+v; want its verdict only", id, w)
		}
		var digest, erased bool
		if err := st.Pool().QueryRow(ctx, `SELECT input_digest IS NOT NULL, erased_at IS NOT NULL FROM records WHERE id = $1`, id).
			Scan(&digest, &erased); err != nil || digest || !erased {
			t.Errorf("record %d: digest kept %v, erased %v (%v)", id, digest, erased, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "a.jpg")); !os.IsNotExist(err) {
		t.Errorf("the erased person's picture is still there: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b.jpg")); err != nil {
		t.Errorf("another person's picture went: %v", err)
	}
	if w := holds(t, st, one["b"]); !w.inputs || !w.picture || !w.ocr {
		t.Errorf("another person's record was touched: %+v", w)
	}
	if w := holds(t, st, two["open"]); !w.inputs {
		t.Errorf("the open record was touched: %+v", w)
	}
	audits, err := st.ListAudit(ctx, "erase", 5)
	if err != nil || len(audits) != 1 {
		t.Fatalf("audit rows %v %v; want one", audits, err)
	}
	a := audits[0]
	raw, _ := json.Marshal(a)
	if a.Operator != "dpo" || a.Reason != "request 2026-117" || a.Result["erased"] != float64(2) ||
		strings.Contains(string(raw), "803") {
		t.Errorf("audit row %s; want operator, reason and counts, no id number", raw)
	}
	// By ref: the other person's record in batch one.
	req, err = ops.ReadErasureRequest(strings.NewReader("ref:" + itoa(firstBatch(t, st, one["b"])) + ":b\n"))
	if err != nil {
		t.Fatal(err)
	}
	if res, err = ops.Erase(ctx, st, st.Keyring(), ops.EraseOptions{Request: req, Reason: "r2", Pictures: pics}); err != nil || res.Erased != 1 {
		t.Fatalf("erase by ref: %+v %v", res, err)
	}
}

func firstBatch(t *testing.T, st *store.Store, id int64) int64 {
	t.Helper()
	var b int64
	if err := st.Pool().QueryRow(context.Background(), `SELECT batch_id FROM records WHERE id = $1`, id).Scan(&b); err != nil {
		t.Fatal(err)
	}
	return b
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// A request line that is neither a valid id number nor ref:BATCH:REF is
// refused by its line number, never quoted.
func TestErasureRequestRefusesWithoutQuoting(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"110101199003078031\n", "ref:x:a\n", "ref:7:\n", "\n# nothing\n"} {
		_, err := ops.ReadErasureRequest(strings.NewReader(in))
		if err == nil {
			t.Errorf("%q accepted", in)
			continue
		}
		if strings.Contains(err.Error(), "11010119900307803") {
			t.Errorf("%q: the error quotes the value: %v", in, err)
		}
	}
	if _, err := ops.Erase(context.Background(), nil, nil, ops.EraseOptions{}); err == nil || !strings.Contains(err.Error(), "reason") {
		t.Errorf("erase without a reason: %v", err)
	}
}
