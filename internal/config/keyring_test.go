package config_test

import (
	"bytes"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/config"
)

func testKey(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

func TestKeyring(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(testKey(1))
	k2 := base64.StdEncoding.EncodeToString(testKey(2))
	idx := base64.StdEncoding.EncodeToString(testKey(3))
	if k, err := config.Keyring(env(nil)); k != nil || err != nil {
		t.Fatalf("no keys: %v %v", k, err)
	}
	k, err := config.Keyring(env(map[string]string{"IVSBATCH_PII_KEYS": "old:" + k1 + ",new:" + k2,
		"IVSBATCH_PII_KEY_ID": "new", "IVSBATCH_PII_INDEX_KEY": idx}))
	if err != nil || k.ActiveKeyID() != "new" {
		t.Fatalf("from env: %v", err)
	}
	for _, bad := range []map[string]string{
		{"IVSBATCH_PII_KEYS": "old:" + k1},                                                            // no index key
		{"IVSBATCH_PII_KEYS": "old:short", "IVSBATCH_PII_INDEX_KEY": idx},                             // not base64 / short
		{"IVSBATCH_PII_KEYS": "old:" + k1, "IVSBATCH_PII_INDEX_KEY": idx, "IVSBATCH_PII_KEY_ID": "x"}, // unknown active
	} {
		if _, err := config.Keyring(env(bad)); err == nil {
			t.Errorf("%v: want an error", bad)
		}
	}
}

// A key file others can read is refused, naming the variable, the file and
// the fix; the previous index key of a rotation comes from
// IVSBATCH_PII_INDEX_KEY_PREVIOUS or its file, checked the same way.
func TestKeyringFilesAndPreviousIndexKey(t *testing.T) {
	k1 := base64.StdEncoding.EncodeToString(testKey(1))
	idx := base64.StdEncoding.EncodeToString(testKey(3))
	old := base64.StdEncoding.EncodeToString(testKey(4))
	dir := t.TempDir()
	file := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	open := file("idx-open", idx, 0o644)
	_, err := config.Keyring(env(map[string]string{"IVSBATCH_PII_KEYS": "k1:" + k1, "IVSBATCH_PII_INDEX_KEY_FILE": open}))
	if err == nil || !strings.Contains(err.Error(), "IVSBATCH_PII_INDEX_KEY_FILE") || !strings.Contains(err.Error(), "chmod 600 "+open) {
		t.Fatalf("a world-readable index key file: %v; want a refusal naming the variable, the file and chmod 600", err)
	}
	keys := file("keys", "k1:"+k1+"\n", 0o600)
	k, err := config.Keyring(env(map[string]string{"IVSBATCH_PII_KEYS_FILE": keys, "IVSBATCH_PII_INDEX_KEY": idx}))
	if err != nil || k.Rotating() {
		t.Fatalf("keys from a 0600 file: %v", err)
	}
	k, err = config.Keyring(env(map[string]string{"IVSBATCH_PII_KEYS_FILE": keys, "IVSBATCH_PII_INDEX_KEY": idx,
		"IVSBATCH_PII_INDEX_KEY_PREVIOUS_FILE": file("prev", old, 0o400)}))
	if err != nil || !k.Rotating() {
		t.Fatalf("a previous index key from a file: %v", err)
	}
	for _, bad := range []map[string]string{
		{"IVSBATCH_PII_KEYS": "k1:" + k1, "IVSBATCH_PII_INDEX_KEY": idx, "IVSBATCH_PII_INDEX_KEY_PREVIOUS": idx},     // the same key
		{"IVSBATCH_PII_KEYS": "k1:" + k1, "IVSBATCH_PII_INDEX_KEY": idx, "IVSBATCH_PII_INDEX_KEY_PREVIOUS": "short"}, // not a key
		{"IVSBATCH_PII_KEYS": "k1:" + k1, "IVSBATCH_PII_INDEX_KEY": idx, "IVSBATCH_PII_INDEX_KEY_PREVIOUS_FILE": file("prev-open", old, 0o640)},
	} {
		if _, err := config.Keyring(env(bad)); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
}
