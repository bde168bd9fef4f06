package store

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// accountChannel is notified by a trigger on account_state (migration 00004)
// whenever the pause changes.
const accountChannel = "ivsbatch_account_state"

// AccountWatch is the account-wide pause as Postgres has it, kept in memory
// so the worker does not query it for every record: a dedicated connection
// LISTENs for the trigger's notification, and the state is re-read on every
// notification, every Refresh and after every reconnect. While the watch is
// not known to be current (not started, connection lost, no read for two
// refreshes), Paused asks Postgres directly: a pause is never missed. It
// implements pipeline.AccountState.
type AccountWatch struct {
	st      *Store
	refresh time.Duration
	log     *slog.Logger

	mu           sync.RWMutex
	live         bool // listening, and the state below was read since
	readAt       time.Time
	paused       bool
	code, reason string
}

// WatchAccount returns a watch of the account pause re-read every refresh
// (default 5 s); run it with Run.
func (s *Store) WatchAccount(refresh time.Duration, log *slog.Logger) *AccountWatch {
	if refresh <= 0 {
		refresh = 5 * time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &AccountWatch{st: s, refresh: refresh, log: log}
}

// Paused returns the current pause: from memory while the watch is live,
// else from Postgres.
func (w *AccountWatch) Paused(ctx context.Context) (string, string, bool, error) {
	w.mu.RLock()
	live, fresh := w.live, time.Since(w.readAt) < 2*w.refresh
	code, reason, paused := w.code, w.reason, w.paused
	w.mu.RUnlock()
	if live && fresh {
		return code, reason, paused, nil
	}
	return w.st.Paused(ctx)
}

// Live reports whether Paused answers from memory (listening, state current).
func (w *AccountWatch) Live() bool {
	w.mu.RLock()
	defer w.mu.RUnlock()
	return w.live && time.Since(w.readAt) < 2*w.refresh
}

// SetPaused stores a pause and applies it here at once.
func (w *AccountWatch) SetPaused(ctx context.Context, code, reason string) error {
	if err := w.st.SetPaused(ctx, code, reason); err != nil {
		return err
	}
	w.set(true, code, reason, false)
	return nil
}

// ClearPaused lifts the pause and applies it here at once.
func (w *AccountWatch) ClearPaused(ctx context.Context) error {
	if err := w.st.ClearPaused(ctx); err != nil {
		return err
	}
	w.set(false, "", "", false)
	return nil
}

func (w *AccountWatch) set(paused bool, code, reason string, read bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.paused, w.code, w.reason = paused, code, reason
	if read {
		w.readAt = time.Now()
	}
}

func (w *AccountWatch) setLive(live bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.live = live
}

// Run listens until ctx ends, reconnecting after errors.
func (w *AccountWatch) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		err := w.listen(ctx)
		w.setLive(false)
		if ctx.Err() != nil {
			return nil
		}
		w.log.Warn("account pause watch lost its connection; reading Postgres per record until back", "err", err)
		select {
		case <-ctx.Done():
		case <-time.After(w.refresh):
		}
	}
	return nil
}

func (w *AccountWatch) listen(ctx context.Context) error {
	conn, err := pgx.ConnectConfig(ctx, w.st.pool.Config().ConnConfig.Copy())
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+accountChannel); err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	for {
		if err := w.reread(ctx, conn); err != nil {
			return err
		}
		w.setLive(true)
		wctx, cancel := context.WithTimeout(ctx, w.refresh)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil && errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// the periodic re-read
		case err != nil:
			return fmt.Errorf("wait for notification: %w", err)
		}
	}
}

// reread reads the state on the watch's own connection conn.
func (w *AccountWatch) reread(ctx context.Context, conn *pgx.Conn) error {
	code, reason, paused, err := readPaused(ctx, conn)
	if err != nil {
		return err
	}
	w.set(paused, code, reason, true)
	return nil
}
