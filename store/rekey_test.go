package store_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// Personal fields are sealed at rest, and Rekey moves them to a new key.
func TestSealedAtRestAndRekey(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	k1, k2, index := randomKey(), randomKey(), randomKey()
	st := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1}, "k1", index)))
	newBatch(t, st, nameInput("a"), nameInput("b"))
	st.Close()

	raw := func(st *store.Store) string {
		var s string
		if err := st.Pool().QueryRow(ctx, `SELECT string_agg(name_enc || id_number_enc, ',') FROM records`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	rotated := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1, "k2": k2}, "k2", index)))
	if s := raw(rotated); strings.Contains(s, "张伟") || strings.Contains(s, "803X") || !strings.Contains(s, "k1:") {
		t.Fatalf("stored values are not sealed under k1: %q", s)
	}
	n, err := rotated.Rekey(ctx, 1)
	if err != nil || n != 2 {
		t.Fatalf("rekey: %d %v", n, err)
	}
	if s := raw(rotated); strings.Contains(s, "k1:") {
		t.Fatalf("values still under k1 after rekey: %q", s)
	}
	onlyNew := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k2": k2}, "k2", index)))
	rec, err := onlyNew.GetRecord(ctx, 1)
	if err != nil || rec.Name != "张伟" || rec.IDNumber != "11010119900307803X" {
		t.Fatalf("read with only the new key: %+v %v", rec, err)
	}
	if n, err := onlyNew.Rekey(ctx, 10); err != nil || n != 0 {
		t.Fatalf("second rekey changed %d (%v)", n, err)
	}
}

// Every OCR field is sealed at rest; a field stored in clear before that
// still opens, counts as left outside the active key, and rekey seals it.
func TestEveryOCRFieldSealed(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	k1, k2, index := randomKey(), randomKey(), randomKey()
	st := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1}, "k1", index)))
	newBatch(t, st, nameInput("a"))
	ocr := `{"name":"","number":"","sex":"男","birth":"19900307","ethnicity":"汉","address":"","issue":"北京市公安局","valid_from":"20200101","valid_to":"20400101"}`
	if _, err := st.Pool().Exec(ctx, `UPDATE records SET status = 'done', idcard_result = $1, finished_at = now()`, ocr); err != nil {
		t.Fatal(err)
	}
	if n, err := st.SealedElsewhere(ctx); err != nil || n != 1 {
		t.Fatalf("left outside k1 with clear OCR fields: %d %v; want 1", n, err)
	}
	rotated := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1, "k2": k2}, "k2", index)))
	if n, err := rotated.SealedElsewhere(ctx); err != nil || n != 1 {
		t.Fatalf("left outside k2 before rekey: %d %v; want 1", n, err)
	}
	if _, err := rotated.Rekey(ctx, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := rotated.SealedElsewhere(ctx); err != nil || n != 0 {
		t.Fatalf("left outside k2 after rekey: %d %v; want 0", n, err)
	}
	var raw string
	if err := st.Pool().QueryRow(ctx, `SELECT idcard_result::text FROM records`).Scan(&raw); err != nil {
		t.Fatal(err)
	}
	for _, clear := range []string{"男", "19900307", "汉", "公安局", "20400101"} {
		if strings.Contains(raw, clear) {
			t.Errorf("OCR field %q in clear after rekey: %s", clear, raw)
		}
	}
	rec, err := rotated.GetRecord(ctx, 1)
	if err != nil || rec.IDCardResult == nil || rec.IDCardResult.Sex != "男" || rec.IDCardResult.Issue != "北京市公安局" {
		t.Fatalf("opened OCR: %+v %v", rec.IDCardResult, err)
	}
}

// The first process to seal declares its key active; a process sealing
// under another key is refused until a rotation (SetActiveKey) moves the
// database to it, after which the old key's processes are refused.
func TestActiveKeyInDatabase(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	k1, k2, index := randomKey(), randomKey(), randomKey()
	old := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1}, "k1", index)))
	if err := old.CheckActiveKey(ctx); err != nil {
		t.Fatalf("first process: %v", err)
	}
	if id, ok, err := old.ActiveKeyID(ctx); err != nil || !ok || id != "k1" {
		t.Fatalf("active key %q %v %v; want k1 declared", id, ok, err)
	}
	rotated := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, map[string][]byte{"k1": k1, "k2": k2}, "k2", index)))
	if err := rotated.CheckActiveKey(ctx); !errors.Is(err, store.ErrInactiveKey) || !strings.Contains(err.Error(), `"k1"`) {
		t.Fatalf("a process on k2 before the rotation: %v; want ErrInactiveKey naming k1", err)
	}
	if prev, err := rotated.SetActiveKey(ctx, store.AuditEntry{Operator: "op", Command: "activate-key"}); err != nil || prev != "k1" {
		t.Fatalf("set active key: %q %v", prev, err)
	}
	if err := rotated.CheckActiveKey(ctx); err != nil {
		t.Fatalf("a process on k2 after the rotation: %v", err)
	}
	if err := old.CheckActiveKey(ctx); !errors.Is(err, store.ErrInactiveKey) {
		t.Fatalf("a process still on k1 after the rotation: %v; want ErrInactiveKey", err)
	}
	if rows, err := old.ListAudit(ctx, "activate-key", 5); err != nil || len(rows) != 1 || rows[0].Args["to_key_id"] != "k2" {
		t.Fatalf("audit of the rotation: %+v %v", rows, err)
	}
}

// The index key is rotated with two keys: during the transition look-ups
// find values under either key (and values stored before keys were tagged),
// dedup finds a verdict and a call on its way under the previous key,
// rekey moves every value it can make again to the current key, clears the
// digest of final records (the media it covers is not stored) and counts
// what is left: an open record's digest, until it finished. Then nothing
// is left under the previous key and the current key alone finds everyone.
func TestIndexKeyRotation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := storetest.URL(t)
	data, i1, i2 := map[string][]byte{"k1": randomKey()}, randomKey(), randomKey()
	oldKeys := keyring(t, data, "k1", i1)
	old := storetest.OpenURL(t, url, store.WithKeyring(oldKeys))
	opsBatch(t, old, 3)
	done := finishAs(t, old, pipeline.StatusInFlight, "")
	onItsWay := finishAs(t, old, pipeline.StatusInFlight, "")
	if _, wait, err := old.Dedup(ctx, done, pipeline.InputDigests(oldKeys, done, nil), time.Hour); err != nil || wait {
		t.Fatalf("first record's dedup: %v %v", wait, err)
	}
	vc := 1000
	if err := old.Finish(ctx, pipeline.Outcome{RecordID: done.ID, Generation: done.Generation, Status: pipeline.StatusDone,
		CountAttempt: true, Verdict: pipeline.Verdict{Result: "valid", Code: &vc}}); err != nil {
		t.Fatal(err)
	}
	onItsWay.Reverify = true // calls whatever was verified before: its digest is stored
	if _, wait, err := old.Dedup(ctx, onItsWay, pipeline.InputDigests(oldKeys, onItsWay, nil), time.Hour); err != nil || wait {
		t.Fatalf("second record's dedup: %v %v", wait, err)
	}
	// A value stored before index values were tagged.
	if _, err := old.Pool().Exec(ctx, `UPDATE records SET id_hmac = substring(id_hmac FROM 1 FOR 32)
		WHERE id = (SELECT max(id) FROM records)`); err != nil {
		t.Fatal(err)
	}
	const person = "11010119900307803X"

	rotKeys, err := keyring(t, data, "k1", i2).WithPreviousIndexKey(i1)
	if err != nil {
		t.Fatal(err)
	}
	rot := storetest.OpenURL(t, url, store.WithKeyring(rotKeys))
	if found, err := rot.FindByIDNumber(ctx, person, 10); err != nil || len(found) != 3 {
		t.Fatalf("during the rotation find by id number: %d records (%v); want 3", len(found), err)
	}
	fresh := opsBatchNamed(t, rot, "after")
	rec := claimOf(t, rot, fresh)
	digests := pipeline.InputDigests(rotKeys, rec, nil)
	if _, wait, err := rot.Dedup(ctx, rec, digests, time.Hour); err != nil || !wait {
		t.Fatalf("identical inputs under the new key while the old key's call is on its way: wait %v (%v); want to wait", wait, err)
	}
	if n, err := rot.IndexedElsewhere(ctx); err != nil || n != 3 {
		t.Fatalf("before rekey %d records under other index keys (%v); want 3", n, err)
	}
	if _, err := rot.Rekey(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n, err := rot.IndexedElsewhere(ctx); err != nil || n != 1 {
		t.Fatalf("after rekey, a call on its way: %d records under other index keys (%v); want 1, its digest", n, err)
	}
	if err := rot.Finish(ctx, pipeline.Outcome{RecordID: onItsWay.ID, Generation: onItsWay.Generation,
		Status: pipeline.StatusDone, CountAttempt: true, Verdict: pipeline.Verdict{Result: "valid", Code: &vc}}); err != nil {
		t.Fatal(err)
	}
	if prior, wait, err := rot.Dedup(ctx, rec, digests, time.Hour); err != nil || wait || prior == nil {
		t.Fatalf("identical inputs under the new key after the old key's verdict: prior %v wait %v (%v); want the verdict reused", prior, wait, err)
	}
	if _, err := rot.Rekey(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if n, err := rot.IndexedElsewhere(ctx); err != nil || n != 0 {
		t.Fatalf("after rekey %d records under other index keys (%v); want 0", n, err)
	}
	var digestsLeft int
	if err := rot.Pool().QueryRow(ctx, `SELECT count(*) FROM records WHERE input_digest IS NOT NULL`).Scan(&digestsLeft); err != nil ||
		digestsLeft != 0 {
		t.Fatalf("%d digests left (%v); want the final records' cleared", digestsLeft, err)
	}
	// The previous key retired: the current key alone finds everyone.
	only := storetest.OpenURL(t, url, store.WithKeyring(keyring(t, data, "k1", i2)))
	if found, err := only.FindByIDNumber(ctx, person, 10); err != nil || len(found) != 4 {
		t.Fatalf("after the rotation find by id number: %d records (%v); want 4", len(found), err)
	}
	if n, err := only.Rekey(ctx, 10); err != nil || n != 0 {
		t.Fatalf("a second rekey changed %d records (%v)", n, err)
	}
}

// claimOf claims batch's next pending record.
func claimOf(t *testing.T, st *store.Store, batch int64) *pipeline.Record {
	t.Helper()
	refs, err := st.ClaimPending(context.Background(), pipeline.EndpointExtention, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range refs {
		rec, err := st.Claim(context.Background(), ref)
		if err != nil {
			t.Fatal(err)
		}
		if rec.BatchID == batch {
			return rec
		}
	}
	t.Fatalf("no pending record of batch %d", batch)
	return nil
}
