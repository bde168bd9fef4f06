package pii_test

import (
	"encoding/base64"
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
		if _, err := pii.ReadKeyFile("IVSBATCH_PII_KEYS_FILE", write("ok", mode)); err != nil {
			t.Errorf("mode %04o: %v", mode, err)
		}
	}
	for _, mode := range []os.FileMode{0o644, 0o604, 0o640, 0o660, 0o444} {
		p := write("bad", mode)
		_, err := pii.ReadKeyFile("IVSBATCH_PII_KEYS_FILE", p)
		if err == nil || !strings.Contains(err.Error(), "chmod 600 "+p) || !strings.Contains(err.Error(), "IVSBATCH_PII_KEYS_FILE") {
			t.Errorf("mode %04o: %v; want a refusal naming the variable, the file and chmod 600", mode, err)
		}
	}
	// The keyring from the environment refuses it the same way.
	idx := write("index", 0o644)
	_, err := pii.KeyringFromEnv(func(k string) string {
		return map[string]string{"IVSBATCH_PII_KEYS": "k1:" + key, "IVSBATCH_PII_INDEX_KEY_FILE": idx}[k]
	})
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+idx) {
		t.Errorf("keyring with a world-readable index key file: %v", err)
	}
	if os.Getuid() != 0 {
		t.Skip("the secret-volume case needs root to give the file another owner")
	}
	vol := write("volume", 0o440)
	if err := os.Chown(vol, 10001, 10001); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.ReadKeyFile("IVSBATCH_PII_KEYS_FILE", vol); err != nil {
		t.Errorf("another user's file, 0440: %v", err)
	}
	for _, mode := range []os.FileMode{0o444, 0o460} {
		if err := os.Chmod(vol, mode); err != nil {
			t.Fatal(err)
		}
		if _, err := pii.ReadKeyFile("IVSBATCH_PII_KEYS_FILE", vol); err == nil {
			t.Errorf("another user's file, %04o: read; want a refusal", mode)
		}
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(vol, link); err != nil {
		t.Fatal(err)
	}
	if _, err := pii.ReadKeyFile("IVSBATCH_PII_KEYS_FILE", link); err == nil {
		t.Error("a symlink to a group-writable file was read")
	}
}
