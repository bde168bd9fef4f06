package config_test

import (
	"bytes"
	"encoding/base64"
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
