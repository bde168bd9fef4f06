package pii_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pii"
)

func key(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestSealOpenBindsRecordAndKey(t *testing.T) {
	k, err := pii.NewKeyring(map[string][]byte{"k1": key(1), "k2": key(2)}, "k1", key(9))
	if err != nil {
		t.Fatal(err)
	}
	env, err := k.Seal("买买提·艾力", 42)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(env, "买买提") || pii.KeyID(env) != "k1" {
		t.Fatalf("envelope %q leaks or lacks its key id", env)
	}
	if got, err := k.Open(env, 42); err != nil || got != "买买提·艾力" {
		t.Fatalf("open: %q %v", got, err)
	}
	if _, err := k.Open(env, 43); err == nil {
		t.Fatal("an envelope opened for another record")
	}
	again, _ := k.Seal("买买提·艾力", 42)
	if again == env {
		t.Fatal("two seals of the same value are identical (nonce reuse)")
	}
	// Rotation: the new active key seals; the old one still opens.
	k2, err := pii.NewKeyring(map[string][]byte{"k1": key(1), "k2": key(2)}, "k2", key(9))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := k2.Open(env, 42); err != nil || got != "买买提·艾力" {
		t.Fatalf("old key after rotation: %q %v", got, err)
	}
	if env2, _ := k2.Seal("x", 1); pii.KeyID(env2) != "k2" {
		t.Fatalf("sealed with %q, want k2", pii.KeyID(env2))
	}
	// Tampering is detected.
	raw := []byte(env)
	raw[len(raw)-3] ^= 1
	if _, err := k.Open(string(raw), 42); err == nil {
		t.Fatal("tampered envelope opened")
	}
}

func TestIndexIsKeyedAndStable(t *testing.T) {
	a, _ := pii.NewKeyring(map[string][]byte{"k": key(1)}, "k", key(7))
	b, _ := pii.NewKeyring(map[string][]byte{"k": key(1)}, "k", key(8))
	id := "11010119900307803X"
	if !bytes.Equal(a.Index(id), a.Index(id)) {
		t.Fatal("index not stable")
	}
	if bytes.Equal(a.Index(id), b.Index(id)) {
		t.Fatal("index does not depend on the key")
	}
	if bytes.Equal(a.Index("ab", "c"), a.Index("a", "bc")) {
		t.Fatal("index parts are ambiguous")
	}
}
