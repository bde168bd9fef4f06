package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ClaimPending moves up to n pending records of endpoint ep, oldest first,
// to queued and returns their task refs. FOR UPDATE SKIP LOCKED lets several
// feeders run.
func (s *Store) ClaimPending(ctx context.Context, ep ivs.Endpoint, n int) ([]pipeline.TaskRef, error) {
	rows, err := s.pool.Query(ctx, `
		UPDATE records SET status = 'queued', updated_at = now()
		WHERE id IN (SELECT id FROM records WHERE status = 'pending' AND shape = ANY($2)
		             ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)
		RETURNING id, generation, shape`, n, shapesOf(ep))
	if err != nil {
		return nil, fmt.Errorf("store: claim pending: %w", err)
	}
	return collectRefs(rows)
}

// shapesOf lists the shapes served by endpoint ep.
func shapesOf(ep ivs.Endpoint) []string {
	var out []string
	for _, sh := range ivs.Shapes {
		if sh.Endpoint() == ep {
			out = append(out, string(sh))
		}
	}
	return out
}

type refRows interface {
	Next() bool
	Scan(...any) error
	Err() error
	Close()
}

func collectRefs(rows refRows) ([]pipeline.TaskRef, error) {
	defer rows.Close()
	var out []pipeline.TaskRef
	for rows.Next() {
		var r pipeline.TaskRef
		if err := rows.Scan(&r.RecordID, &r.Generation, &r.Shape); err != nil {
			return nil, fmt.Errorf("store: scan task ref: %w", err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: task refs: %w", err)
	}
	return out, nil
}

// SetPaused records an account-wide stop.
func (s *Store) SetPaused(ctx context.Context, code, reason string) error {
	_, err := s.pool.Exec(ctx, `UPDATE account_state SET paused = true, code = $1, reason = $2, updated_at = now()`, code, reason)
	if err != nil {
		return fmt.Errorf("store: set paused: %w", err)
	}
	return nil
}

// ClearPaused lifts the account-wide stop.
func (s *Store) ClearPaused(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `UPDATE account_state SET paused = false, code = '', reason = '', updated_at = now()`)
	if err != nil {
		return fmt.Errorf("store: clear paused: %w", err)
	}
	return nil
}

// Paused returns the current account-wide stop, if any.
func (s *Store) Paused(ctx context.Context) (code, reason string, ok bool, err error) {
	err = s.pool.QueryRow(ctx, `SELECT paused, code, reason FROM account_state`).Scan(&ok, &code, &reason)
	if err != nil {
		return "", "", false, fmt.Errorf("store: read account state: %w", err)
	}
	return code, reason, ok, nil
}

// Counts are a batch's records by status.
type Counts struct {
	ByStatus map[pipeline.Status]int
	Total    int
}

// Open is the number of records without a final outcome.
func (c Counts) Open() int {
	n := 0
	for st, k := range c.ByStatus {
		if !st.Terminal() {
			n += k
		}
	}
	return n
}

// BatchCounts counts a batch's records by status.
func (s *Store) BatchCounts(ctx context.Context, batchID int64) (Counts, error) {
	c := Counts{ByStatus: map[pipeline.Status]int{}}
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM records WHERE batch_id = $1 GROUP BY status`, batchID)
	if err != nil {
		return c, fmt.Errorf("store: count batch %d: %w", batchID, err)
	}
	defer rows.Close()
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return c, fmt.Errorf("store: count batch %d: %w", batchID, err)
		}
		c.ByStatus[pipeline.Status(st)] = n
		c.Total += n
	}
	return c, rows.Err()
}

// Attempt is one stored IVS call.
type Attempt struct {
	ID             int64
	RecordID       int64
	Generation     int
	UUID           string
	Endpoint       string
	State          string // in_flight, finished, abandoned
	StartedAt      time.Time
	HTTPStatus     int
	Code           string
	RequestID      string
	Class          string
	Billed         bool
	PossiblyBilled bool
	MediaNote      string
}

// ListAttempts returns the attempts of a batch's records in id order.
func (s *Store) ListAttempts(ctx context.Context, batchID int64) ([]Attempt, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT a.id, a.record_id, a.generation, a.uuid, a.endpoint, a.state, a.started_at, coalesce(a.http_status, 0),
		       coalesce(a.code, ''), coalesce(a.request_id, ''), coalesce(a.class, ''), a.billed, a.possibly_billed, a.media_note
		FROM attempts a JOIN records r ON r.id = a.record_id WHERE r.batch_id = $1 ORDER BY a.id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: list attempts of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []Attempt
	for rows.Next() {
		var a Attempt
		if err := rows.Scan(&a.ID, &a.RecordID, &a.Generation, &a.UUID, &a.Endpoint, &a.State, &a.StartedAt, &a.HTTPStatus,
			&a.Code, &a.RequestID, &a.Class, &a.Billed, &a.PossiblyBilled, &a.MediaNote); err != nil {
			return nil, fmt.Errorf("store: scan attempt: %w", err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// StatusCounts counts all records by status.
func (s *Store) StatusCounts(ctx context.Context) (map[pipeline.Status]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT status, count(*) FROM records GROUP BY status`)
	if err != nil {
		return nil, fmt.Errorf("store: status counts: %w", err)
	}
	defer rows.Close()
	out := map[pipeline.Status]int{}
	for rows.Next() {
		var st string
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("store: status counts: %w", err)
		}
		out[pipeline.Status(st)] = n
	}
	return out, rows.Err()
}
