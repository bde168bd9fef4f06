package testenv

import (
	"crypto/rand"
	"testing"

	"github.com/ivsbatch/ivsbatch/pii"
)

// Keyring returns a keyring with fresh random keys for this test.
func Keyring(t testing.TB) *pii.Keyring {
	t.Helper()
	key, index := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(index)
	k, err := pii.NewKeyring(map[string][]byte{"test": key}, "test", index)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
