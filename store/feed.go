package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ClaimPending moves up to n pending records of endpoint ep, oldest first,
// to queued and returns their task refs. FOR UPDATE SKIP LOCKED lets several
// feeders run. Each of the endpoint's shapes is read from its own partial
// index (records_pending_SHAPE, migration 00006), so a claim reads at most n
// index entries per shape whatever the number of pending records.
func (s *Store) ClaimPending(ctx context.Context, ep pipeline.Endpoint, n int) ([]pipeline.TaskRef, error) {
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
var claimPendingSQL = func() map[pipeline.Endpoint]string {
	out := map[pipeline.Endpoint]string{}
	for _, ep := range []pipeline.Endpoint{pipeline.EndpointStandard, pipeline.EndpointExtention} {
		var ctes, union []string
		for i, sh := range shapesOf(ep) {
			ctes = append(ctes, fmt.Sprintf(`s%d AS (SELECT id FROM records WHERE status = %s AND shape = '%s'
				ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED)`, i, sqlText(pipeline.StatusPending), sh))
			union = append(union, fmt.Sprintf("SELECT id FROM s%d", i))
		}
		if len(ctes) == 0 {
			continue
		}
		out[ep] = `WITH ` + strings.Join(ctes, ",\n") + `
			UPDATE records SET status = ` + sqlText(pipeline.StatusQueued) + `, updated_at = now()
			WHERE id = ANY (ARRAY (SELECT id FROM (` + strings.Join(union, " UNION ALL ") + `) u ORDER BY id LIMIT $1))
			RETURNING id, generation, shape`
	}
	return out
}()

// shapesOf lists the shapes served by endpoint ep.
func shapesOf(ep pipeline.Endpoint) []string {
	var out []string
	for _, sh := range pipeline.Shapes {
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
