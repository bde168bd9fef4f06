package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ClaimPending moves up to n pending records of endpoint ep, oldest first,
// to queued and returns their task refs. FOR UPDATE SKIP LOCKED lets several
// feeders run. Each of the endpoint's shapes is read from its own partial
// index (records_pending_SHAPE, migration 00006), so a claim reads at most n
// index entries per shape whatever the number of pending records.
func (s *Store) ClaimPending(ctx context.Context, ep ivs.Endpoint, n int) ([]pipeline.TaskRef, error) {
	q, ok := claimPendingSQL[ep]
	if !ok {
		return nil, nil
	}
	rows, err := s.pool.Query(ctx, q, n)
	if err != nil {
		return nil, fmt.Errorf("store: claim pending: %w", err)
	}
	return collectRefs(rows)
}

// claimPendingSQL is the claim per endpoint: one locking subquery per shape,
// the shape and the status as literals so that the planner uses the shape's
// partial index (a parameter would leave it the primary key in a generic plan).
var claimPendingSQL = func() map[ivs.Endpoint]string {
	out := map[ivs.Endpoint]string{}
	for _, ep := range []ivs.Endpoint{ivs.EndpointStandard, ivs.EndpointExtention} {
		var ctes, union []string
		for i, sh := range shapesOf(ep) {
			ctes = append(ctes, fmt.Sprintf(`s%d AS (SELECT id FROM records WHERE status = %s AND shape = '%s'
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`, i, sqlStatuses(pipeline.StatusPending), sh))
			union = append(union, fmt.Sprintf("SELECT id FROM s%d", i))
		}
		if len(ctes) == 0 {
			continue
		}
		out[ep] = `WITH ` + strings.Join(ctes, ",\n") + `
			UPDATE records SET status = '` + string(pipeline.StatusQueued) + `', updated_at = now()
			WHERE id = ANY (ARRAY (SELECT id FROM (` + strings.Join(union, " UNION ALL ") + `) u ORDER BY id LIMIT $1))
			RETURNING id, generation, shape`
	}
	return out
}()

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
