package testenv

import (
	"testing"
	"time"
)

// Eventually polls cond (every 20 ms) until it holds and fails the test
// with describe's words when it does not within limit: wait loops use it
// instead of carrying on, silently, after their deadline. describe runs
// only on failure (it may read the state that did not come about).
func Eventually(t testing.TB, limit time.Duration, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", limit, describe())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
