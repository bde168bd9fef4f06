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
//	IVSBATCH_PII_INDEX_KEY_PREVIOUS  the index key being retired, during a
//	                         rotation (or IVSBATCH_PII_INDEX_KEY_PREVIOUS_FILE)
//
// A key file others can read is refused (ReadKeyFile).
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

// Keyring holds the data keys by id, the active key id and the index key
// (and, during a rotation of the index key, the previous one).
type Keyring struct {
	active    string
	aeads     map[string]cipher.AEAD
	index     []byte
	prevIndex []byte // the index key being retired (IVSBATCH_PII_INDEX_KEY_PREVIOUS), or nil
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

// WithPreviousIndexKey returns a copy of k that also holds prev, the index
// key being retired: look-ups (IndexAll) find values indexed under either
// key until enqueue rekey has moved every stored value to the current one.
func (k *Keyring) WithPreviousIndexKey(prev []byte) (*Keyring, error) {
	if len(prev) < 32 {
		return nil, fmt.Errorf("pii: previous index key is %d bytes, want at least 32", len(prev))
	}
	if hmac.Equal(prev, k.index) {
		return nil, errors.New("pii: the previous index key is the current one")
	}
	c := *k
	c.prevIndex = prev
	return &c, nil
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

// SealBytes encrypts data for record id with the active key, as Seal does
// for text, and returns "kid:" followed by nonce‖ciphertext in binary (for
// objects such as kept pictures).
func (k *Keyring) SealBytes(data []byte, recordID int64) ([]byte, error) {
	if k == nil {
		return nil, ErrNoKeys
	}
	aead := k.aeads[k.active]
	out := make([]byte, 0, len(k.active)+1+aead.NonceSize()+len(data)+aead.Overhead())
	out = append(out, k.active+":"...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("pii: nonce: %w", err)
	}
	out = append(out, nonce...)
	return aead.Seal(out, nonce, data, aad(recordID)), nil
}

// OpenBytes decrypts what SealBytes made for the same record id.
func (k *Keyring) OpenBytes(sealed []byte, recordID int64) ([]byte, error) {
	if k == nil {
		return nil, ErrNoKeys
	}
	i := strings.IndexByte(string(sealed[:min(len(sealed), 64)]), ':')
	if i <= 0 {
		return nil, errors.New("pii: not a sealed object")
	}
	aead, ok := k.aeads[string(sealed[:i])]
	if !ok {
		return nil, fmt.Errorf("pii: unknown key id %q", sealed[:i])
	}
	raw := sealed[i+1:]
	if len(raw) < aead.NonceSize() {
		return nil, errors.New("pii: damaged sealed object")
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], aad(recordID))
	if err != nil {
		return nil, errors.New("pii: sealed object does not open (wrong key, record or tampered)")
	}
	return plain, nil
}

// KeyID returns the key id of an envelope ("" for an empty value).
func KeyID(envelope string) string {
	id, _, _ := strings.Cut(envelope, ":")
	return id
}

// Index is the blind index of a value: HMAC-SHA256 under the index key, so
// equal values can be found without decrypting, followed by the key's tag
// (IndexTagLen bytes, IndexTag) so that a rotation can tell which key made a
// stored value. Values are compared as given: normalise first
// (identity.NormalizeIDNumber).
func (k *Keyring) Index(parts ...string) []byte {
	if k == nil {
		return nil
	}
	return append(mac(k.index, parts), indexTag(k.index)...)
}

// IndexAll is the blind index of a value as it may be stored: under the
// current index key (first: what Index returns), then untagged as stored
// before keys were tagged, then the same under the previous key during a
// rotation. Look-ups match any of them.
func (k *Keyring) IndexAll(parts ...string) [][]byte {
	if k == nil {
		return nil
	}
	cur := mac(k.index, parts)
	out := [][]byte{append(cur, indexTag(k.index)...), cur[:sha256.Size:sha256.Size]}
	if k.prevIndex != nil {
		prev := mac(k.prevIndex, parts)
		out = append(out, append(prev, indexTag(k.prevIndex)...), prev[:sha256.Size:sha256.Size])
	}
	return out
}

// IndexTagLen is the length of the tag ending a blind index value.
const IndexTagLen = 4

// IndexTag is the tag of the current index key, which every value Index
// makes ends with: a value ending otherwise is under another key.
func (k *Keyring) IndexTag() []byte { return indexTag(k.index) }

// Rotating reports whether a previous index key is held (a rotation of the
// index key is under way).
func (k *Keyring) Rotating() bool { return k.prevIndex != nil }

// indexTag names an index key without revealing it.
func indexTag(key []byte) []byte {
	return mac(key, []string{"ivsbatch/index-key-tag"})[:IndexTagLen]
}

func mac(key []byte, parts []string) []byte {
	m := hmac.New(sha256.New, key)
	for _, p := range parts {
		m.Write([]byte(strconv.Itoa(len(p))))
		m.Write([]byte{':'})
		m.Write([]byte(p))
	}
	return m.Sum(make([]byte, 0, sha256.Size+IndexTagLen))
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
