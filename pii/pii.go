// Package pii protects personal data at rest: AES-256-GCM envelopes bound to
// the record they belong to (the record id is the associated data), with the
// key id stored beside each value so keys can be rotated, and a keyed
// HMAC-SHA256 blind index for lookups and dedup without decrypting.
//
// Keys come from the environment or a file, never from flags (read by
// internal/config):
//
//	IVSBATCH_PII_KEYS        "kid1:BASE64KEY,kid2:BASE64KEY" (32-byte keys), or
//	IVSBATCH_PII_KEYS_FILE   a file with one "kid:BASE64KEY" per line
//	IVSBATCH_PII_KEY_ID      the key id new values are sealed with (default: the first)
//	IVSBATCH_PII_INDEX_KEY   base64 key of the blind index (or IVSBATCH_PII_INDEX_KEY_FILE)
package pii

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrNoKeys is returned when personal data must be sealed or opened but no
// keys are configured.
var ErrNoKeys = errors.New("pii: no encryption keys configured (set IVSBATCH_PII_KEYS or IVSBATCH_PII_KEYS_FILE, and IVSBATCH_PII_INDEX_KEY)")

// Keyring holds the data keys by id, the active key id and the index key.
type Keyring struct {
	active string
	aeads  map[string]cipher.AEAD
	index  []byte
}

// NewKeyring builds a keyring. keys maps key ids (no ':' or ',') to 32-byte
// keys; active must be one of them; index is the blind-index key (≥ 32 bytes).
func NewKeyring(keys map[string][]byte, active string, index []byte) (*Keyring, error) {
	k := &Keyring{active: active, aeads: map[string]cipher.AEAD{}, index: index}
	for id, key := range keys {
		if id == "" || strings.ContainsAny(id, ":, \n") {
			return nil, fmt.Errorf("pii: key id %q: must be non-empty without ':', ',' or spaces", id)
		}
		if len(key) != 32 {
			return nil, fmt.Errorf("pii: key %q is %d bytes, want 32 (AES-256)", id, len(key))
		}
		block, err := aes.NewCipher(key)
		if err != nil {
			return nil, fmt.Errorf("pii: key %q: %w", id, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("pii: key %q: %w", id, err)
		}
		k.aeads[id] = aead
	}
	if _, ok := k.aeads[active]; !ok {
		return nil, fmt.Errorf("pii: active key id %q is not among the keys", active)
	}
	if len(index) < 32 {
		return nil, fmt.Errorf("pii: index key is %d bytes, want at least 32", len(index))
	}
	return k, nil
}

// ActiveKeyID is the id of the key new values are sealed with.
func (k *Keyring) ActiveKeyID() string { return k.active }

// Seal encrypts plain for record id with the active key and returns
// "kid:base64(nonce‖ciphertext)". The empty string stays empty.
func (k *Keyring) Seal(plain string, recordID int64) (string, error) {
	return k.SealFor(plain, aad(recordID))
}

// SealFor is Seal for a value that is not a record's: associated names
// what it belongs to (such as "ivsbatch/webhook-endpoint/7"), and OpenFor
// opens it only with the same words. Secrets other than personal data
// (webhook signing secrets) are sealed so.
func (k *Keyring) SealFor(plain string, associated []byte) (string, error) {
	if plain == "" {
		return "", nil
	}
	if k == nil {
		return "", ErrNoKeys
	}
	aead := k.aeads[k.active]
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("pii: nonce: %w", err)
	}
	sealed := aead.Seal(nonce, nonce, []byte(plain), associated)
	return k.active + ":" + base64.StdEncoding.EncodeToString(sealed), nil
}

// Open decrypts an envelope made by Seal for the same record id.
func (k *Keyring) Open(envelope string, recordID int64) (string, error) {
	return k.OpenFor(envelope, aad(recordID))
}

// OpenFor decrypts an envelope made by SealFor with the same associated data.
func (k *Keyring) OpenFor(envelope string, associated []byte) (string, error) {
	if envelope == "" {
		return "", nil
	}
	if k == nil {
		return "", ErrNoKeys
	}
	id, b64, ok := strings.Cut(envelope, ":")
	if !ok {
		return "", errors.New("pii: not an envelope")
	}
	aead, ok := k.aeads[id]
	if !ok {
		return "", fmt.Errorf("pii: unknown key id %q (was it removed before rotation finished?)", id)
	}
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", errors.New("pii: damaged envelope")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], associated)
	if err != nil {
		return "", errors.New("pii: envelope does not open (wrong key, record or tampered)")
	}
	return string(plain), nil
}

// KeyID returns the key id of an envelope ("" for an empty value).
func KeyID(envelope string) string {
	id, _, _ := strings.Cut(envelope, ":")
	return id
}

// Index is the blind index of a value: HMAC-SHA256 under the index key, so
// equal values can be found without decrypting. Values are compared as given:
// normalise first (identity.NormalizeIDNumber).
func (k *Keyring) Index(parts ...string) []byte {
	if k == nil {
		return nil
	}
	m := hmac.New(sha256.New, k.index)
	for _, p := range parts {
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{':'})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

func aad(recordID int64) []byte { return []byte("ivsbatch/record/" + strconv.FormatInt(recordID, 10)) }

// NewKey returns a random 32-byte key, base64-encoded (for key files).
func NewKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}
