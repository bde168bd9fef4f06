package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/pii"
)

// Keyring reads the keys for personal data (see package pii): the keys,
// the active key id and the blind index key, from the variables or files.
// It returns (nil, nil) when no keys are configured at all.
func Keyring(getenv envconf.Lookup) (*pii.Keyring, error) {
	spec := getenv("IVSBATCH_PII_KEYS")
	if f := getenv("IVSBATCH_PII_KEYS_FILE"); spec == "" && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, hidden("IVSBATCH_PII_KEYS_FILE", err)
		}
		spec = strings.Join(strings.Fields(string(b)), ",")
	}
	indexB64 := getenv("IVSBATCH_PII_INDEX_KEY")
	if f := getenv("IVSBATCH_PII_INDEX_KEY_FILE"); indexB64 == "" && f != "" {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, hidden("IVSBATCH_PII_INDEX_KEY_FILE", err)
		}
		indexB64 = strings.TrimSpace(string(b))
	}
	if spec == "" && indexB64 == "" {
		return nil, nil
	}
	if spec == "" || indexB64 == "" {
		return nil, &envconf.Missing{Name: "IVSBATCH_PII_KEYS/IVSBATCH_PII_INDEX_KEY", Want: "both (or their _FILE), or neither"}
	}
	keys := map[string][]byte{}
	first := ""
	for _, part := range strings.Split(spec, ",") {
		id, b64, ok := strings.Cut(strings.TrimSpace(part), ":")
		if !ok {
			return nil, hidden("IVSBATCH_PII_KEYS", fmt.Errorf("key entry %d: want kid:base64key", len(keys)+1))
		}
		key, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return nil, hidden("IVSBATCH_PII_KEYS", fmt.Errorf("key %q: not base64", id))
		}
		keys[id] = key
		if first == "" {
			first = id
		}
	}
	active := getenv("IVSBATCH_PII_KEY_ID")
	if active == "" {
		active = first
	}
	index, err := base64.StdEncoding.DecodeString(indexB64)
	if err != nil {
		return nil, hidden("IVSBATCH_PII_INDEX_KEY", errors.New("base64"))
	}
	k, err := pii.NewKeyring(keys, active, index)
	if err != nil {
		return nil, hidden("IVSBATCH_PII_KEYS", err)
	}
	return k, nil
}

// hidden is a bad secret setting: the error names the variable, never the
// value.
func hidden(name string, err error) error {
	return &envconf.Error{Name: name, Value: "(hidden)", Want: err.Error()}
}
