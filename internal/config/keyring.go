package config

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/ivsbatch/ivsbatch/internal/envconf"
	"github.com/ivsbatch/ivsbatch/pii"
)

// Keyring reads the keys for personal data (see package pii): the keys,
// the active key id and the blind index key (and the previous one during
// its rotation), from the variables or files.
// It returns (nil, nil) when no keys are configured at all.
func Keyring(getenv envconf.Lookup) (*pii.Keyring, error) {
	spec, err := keySetting(getenv, "IVSBATCH_PII_KEYS", "IVSBATCH_PII_KEYS_FILE")
	if err != nil {
		return nil, err
	}
	if getenv("IVSBATCH_PII_KEYS") == "" { // from the file: one key a line
		spec = strings.Join(strings.Fields(spec), ",")
	}
	indexB64, err := keySetting(getenv, "IVSBATCH_PII_INDEX_KEY", "IVSBATCH_PII_INDEX_KEY_FILE")
	if err != nil {
		return nil, err
	}
	prevB64, err := keySetting(getenv, "IVSBATCH_PII_INDEX_KEY_PREVIOUS", "IVSBATCH_PII_INDEX_KEY_PREVIOUS_FILE")
	if err != nil {
		return nil, err
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
	if prevB64 == "" {
		return k, nil
	}
	prev, err := base64.StdEncoding.DecodeString(prevB64)
	if err != nil {
		return nil, hidden("IVSBATCH_PII_INDEX_KEY_PREVIOUS", errors.New("base64"))
	}
	if k, err = k.WithPreviousIndexKey(prev); err != nil {
		return nil, hidden("IVSBATCH_PII_INDEX_KEY_PREVIOUS", err)
	}
	return k, nil
}

// keySetting is variable name's value, or the content of the file that
// variable file names (trimmed). A key file others can read is refused
// (pii.ReadKeyFile), naming the file and the fix.
func keySetting(getenv envconf.Lookup, name, file string) (string, error) {
	v := getenv(name)
	f := getenv(file)
	if v != "" || f == "" {
		return v, nil
	}
	b, err := pii.ReadKeyFile(f)
	if errors.Is(err, pii.ErrKeyFileMode) {
		return "", &envconf.Error{Name: file, Value: f, Want: err.Error()}
	}
	if err != nil {
		return "", hidden(file, err)
	}
	return strings.TrimSpace(string(b)), nil
}

// hidden is a bad secret setting: the error names the variable, never the
// value.
func hidden(name string, err error) error {
	return &envconf.Error{Name: name, Value: "(hidden)", Want: err.Error()}
}
