package store_test

import (
	"context"
	"strings"
	"testing"

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
