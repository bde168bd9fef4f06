package pii_test

import (
	"encoding/base64"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/pii"
)

// A key file others (or, for one's own file, its group) can read is
// refused at start, with the file and the fix named; 0600 and 0400 are
// read, and so is a file owned by another user that only its group reads
// (a Kubernetes secret volume: root-owned, fsGroup, 0440).
func TestKeyFilePermissions(t *testing.T) {
	dir := t.TempDir()
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	write := func(name string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("k1:"+key+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, mode := range []os.FileMode{0o600, 0o400} {
		if _, err := pii.ReadKeyFile(write("ok", mode)); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o604, 0o640, 0o660, 0o444} {
		p := write("bad", mode)
		_, err := pii.ReadKeyFile(p)
		if !errors.Is(err, pii.ErrKeyFileMode) || !strings.Contains(err.Error(), "chmod 600 "+p) {
			t.Errorf("mode %04o: %v; want a refusal naming the file and chmod 600", mode, err)
		}
	}
	if os.Getuid() != 0 {
		t.Skip("the secret-volume case needs root to give the file another owner")
	}
	vol := write("volume", 0o440)
	if err := os.Chown(vol, 10001, 10001); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.ReadKeyFile(vol); err != nil {
		t.Errorf("another user's file, 0440: %v", err)
	}
	for _, mode := range []os.FileMode{0o444, 0o460} {
		if err := os.Chmod(vol, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := pii.ReadKeyFile(vol); err == nil {
			t.Errorf("another user's file, %04o: read; want a refusal", mode)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(vol, link); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.ReadKeyFile(link); err == nil {
		t.Error("a symlink to a group-writable file was read")
	}
}

// Index values end with their key's tag; during a rotation IndexAll gives
// the value under the current key first, then as stored before tags, then
// the same under the previous key, which a keyring without it cannot make.
func TestIndexKeyRotationValues(t *testing.T) {
	key := func(b byte) []byte { k := make([]byte, 32); k[0] = b; return k }
	data := map[string][]byte{"k1": key(9)}
	old, err := pii.NewKeyring(data, "k1", key(1))
	if err != nil {
		t.Fatal(err)
	}
	cur, err := pii.NewKeyring(data, "k1", key(2))
	if err != nil {
		t.Fatal(err)
	}
	rot, err := cur.WithPreviousIndexKey(key(1))
	if err != nil || !rot.Rotating() || cur.Rotating() {
		t.Fatalf("rotating keyring: %v", err)
	}
	v := old.Index("110101199003071234")
	if len(v) != 32+pii.IndexTagLen || string(v[32:]) != string(old.IndexTag()) || string(old.IndexTag()) == string(cur.IndexTag()) {
		t.Fatalf("index value %x; want 32 bytes and the key's tag", v)
	}
	all := rot.IndexAll("110101199003071234")
	if len(all) != 4 || string(all[0]) != string(cur.Index("110101199003071234")) || string(all[1]) != string(all[0][:32]) ||
		string(all[2]) != string(v) || string(all[3]) != string(v[:32]) {
		t.Fatalf("IndexAll during a rotation: %x", all)
	}
	if n := len(cur.IndexAll("110101199003071234")); n != 2 {
		t.Fatalf("IndexAll without a previous key: %d values; want 2", n)
	}
	if _, err := cur.WithPreviousIndexKey(key(2)); err == nil {
		t.Fatal("the current key accepted as the previous one")
	}
}
