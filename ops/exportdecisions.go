package ops

import (
	"context"

	"github.com/ivsbatch/ivsbatch/store"
)

// StoreDecisions is the DecisionSource of st: each record's latest review
// decision (ops review -decide), the reviewer named as declared and as the
// database authenticated them ("alice (ops_operator)").
func StoreDecisions(st *store.Store) DecisionSource {
	return func(ctx context.Context, batchID int64) (map[int64]Decision, error) {
		rows, err := st.BatchDecisions(ctx, batchID)
		if err != nil {
			return nil, err
		}
		out := make(map[int64]Decision, len(rows))
		for id, d := range rows {
			out[id] = Decision{Outcome: string(d.Decision), By: d.Operator + " (" + d.DBUser + ")", At: d.DecidedAt,
				Reason: d.Reason}
		}
		return out, nil
	}
}
