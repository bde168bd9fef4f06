package store

import (
	"cmp"
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BatchStatus is what an operator sees of a batch: counts by status, by
// verdict code and by last error code, and its recent progress (rate, ETA).
type BatchStatus struct {
	Batch     pipeline.Batch
	Counts    Counts
	ByVerdict map[VerdictKey]int // final records with a verdict
	ByError   map[string]int     // last_error_code → n, for final records without a verdict
	Progress  Progress           // the batch's own recent work: rate and ETA
}

// VerdictKey is a verdict as the status counts it: IVS's verification code
// and its verdict (valid, invalid, nonexistent).
type VerdictKey struct {
	Code    int
	Verdict string
}

// String is the key as operators read it, such as "1000 valid".
func (k VerdictKey) String() string { return strconv.Itoa(k.Code) + " " + k.Verdict }

// Compare orders keys by code, then verdict (for slices.SortFunc).
func (k VerdictKey) Compare(o VerdictKey) int {
	return cmp.Or(cmp.Compare(k.Code, o.Code), cmp.Compare(k.Verdict, o.Verdict))
}

// VerdictCounts is ByVerdict keyed by VerdictKey.String, for printing.
func (b BatchStatus) VerdictCounts() map[string]int {
	out := make(map[string]int, len(b.ByVerdict))
	for k, n := range b.ByVerdict {
		out[k.String()] = n
	}
	return out
}

// Rate is the batch's records finished per second over its own recent work
// (see Progress).
func (b BatchStatus) Rate() float64 { return b.Progress.Rate() }

// ETA is the time left at Rate (0 when done, or before the batch made
// progress).
func (b BatchStatus) ETA() time.Duration { return b.Progress.ETA(b.Counts.Open()) }

// batchVerdictsSQL counts batch $1's records in statuses $2 by verdict
// (verification code and verdict, both set or neither) and error code.
const batchVerdictsSQL = `SELECT verification_code, verdict, code, sum(n) FROM record_counts
	WHERE batch_id = $1 AND status = ANY ($2) GROUP BY 1, 2, 3 HAVING sum(n) <> 0`

// scanVerdicts adds rows of batchVerdictsSQL to b's ByVerdict and ByError.
func scanVerdicts(rows pgx.Rows, b *BatchStatus) error {
	defer rows.Close()
	for rows.Next() {
		var (
			vcode         *int
			verdict, code string
			n             int
		)
		if err := rows.Scan(&vcode, &verdict, &code, &n); err != nil {
			return err
		}
		if vcode != nil && verdict != "" {
			b.ByVerdict[VerdictKey{Code: *vcode, Verdict: verdict}] += n
		} else if code != "" {
			b.ByError[code] += n
		}
	}
	return rows.Err()
}

// statusPlannerSettings are GetBatchStatus's: index scans only (see there).
var statusPlannerSettings = []string{"SET LOCAL enable_bitmapscan = off", "SET LOCAL enable_seqscan = off"}

// GetBatchStatus gathers a batch's status: the batch, its counts by status,
// its rate and ETA, and its final records by verdict and error code. One
// round trip, one read-only snapshot (the numbers agree with each other).
// The count deltas and the latest attempts are read through their indexes,
// never by bitmap scans: under load the deltas that compaction deleted are
// still in the index until vacuum, and an index scan marks them dead for
// the next reader (a bitmap scan visits them all again, 58,000 of them and
// 14 ms at 1,100 records/s), and the latest attempts are read newest first
// up to the sample instead of all of the batch's index entries being sorted.
func (s *Store) GetBatchStatus(ctx context.Context, batchID int64) (BatchStatus, error) {
	b := BatchStatus{ByVerdict: map[VerdictKey]int{}, ByError: map[string]int{},
		Counts: Counts{ByStatus: map[pipeline.Status]int{}}}
	var (
		found bool
		since *time.Time
	)
	err := s.readThroughIndexes(ctx, func(q *pgx.Batch) {
		q.Queue(getBatchSQL, batchID).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				found = true
				if err := rows.Scan(batchFields(&b.Batch)...); err != nil {
					return err
				}
			}
			return rows.Err()
		})
		q.Queue(batchCountsSQL, batchID).Query(func(rows pgx.Rows) error { return scanCounts(rows, &b.Counts) })
		q.Queue(batchProgressSQL, batchID, progressWindow.Seconds(), terminal).
			QueryRow(func(row pgx.Row) error { return row.Scan(&since, &b.Progress.Finished, &b.Progress.At) })
		// By verdict and error code: the count deltas (O(1) rows).
		q.Queue(batchVerdictsSQL, batchID, terminal).Query(func(rows pgx.Rows) error { return scanVerdicts(rows, &b) })
	})
	if err != nil {
		return b, fmt.Errorf("store: batch %d status: %w", batchID, err)
	}
	if !found {
		return b, fmt.Errorf("store: batch %d: %w", batchID, pipeline.ErrNotFound)
	}
	if since != nil {
		b.Progress.Since = *since
	}
	return b, nil
}
