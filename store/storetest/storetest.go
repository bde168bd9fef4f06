// Package storetest opens stores for tests, each on a private Postgres
// database (internal/testenv) with a fresh keyring, closed and dropped when
// the test ends. Tests across the repository open their store this way.
package storetest

import (
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/store"
)

// Open returns a store on a new database (migrated, as ops migrate leaves
// it), with a fresh keyring;
// opts apply after it (store.WithKeyring(nil), say, for a store without
// keys).
func Open(t testing.TB, opts ...store.Option) *store.Store {
	t.Helper()
	return OpenURL(t, testenv.PostgresURL(t), opts...)
}

// OpenURL returns a store on the database at url (another store's, to
// open it with other options) with a fresh keyring; opts apply after it.
// It is closed when the test ends.
func OpenURL(t testing.TB, url string, opts ...store.Option) *store.Store {
	t.Helper()
	st, err := store.Open(t.Context(), url, append([]store.Option{store.WithKeyring(testenv.Keyring(t))}, opts...)...)
	if err != nil {
		t.Fatalf("storetest: open store: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

// URL returns the URL of a new, migrated database, to open several stores
// on (OpenURL).
func URL(t testing.TB) string {
	t.Helper()
	return testenv.PostgresURL(t)
}
