package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// Another process pausing the account reaches the watch through the
// notification (the periodic re-read is an hour away here), and so does
// lifting the pause.
func TestAccountWatchFollowsNotifications(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.Open(t)
	w := st.WatchAccount(time.Hour, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = w.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor := func(want bool) {
		t.Helper()
		deadline := time.Now().Add(5 * time.Second)
		for {
			_, _, paused, err := w.Paused(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if paused == want {
				if !w.Live() {
					t.Fatal("the watch answered from Postgres, not from its notifications")
				}
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("watch says paused=%v five seconds after the change; want %v", paused, want)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for !w.Live() {
		time.Sleep(5 * time.Millisecond)
	}
	waitFor(false)
	if err := st.SetPaused(ctx, "IVS.0014", "frozen"); err != nil { // as another worker would
		t.Fatal(err)
	}
	waitFor(true)
	if code, _, _, _ := w.Paused(ctx); code != "IVS.0014" {
		t.Errorf("code %q", code)
	}
	if err := st.ClearPaused(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(false)
}
