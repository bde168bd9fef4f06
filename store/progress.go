package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Progress is a batch's own recent work, from which its rate and ETA come:
// the records it finished since its first call of the last minute. Rows
// refused at submit (final before any call) and other batches' work do not
// count, so a young batch is not measured over a whole minute and a fresh
// one has no ETA.
type Progress struct {
	Since    time.Time // the batch's first call within the last minute; zero when it made none
	Finished int       // records of the batch finished since Since
	At       time.Time // when this was measured (the database's clock)
}

// progressWindow is how far back the rate looks.
const progressWindow = time.Minute

// batchProgress measures p for batchID. It reads only the attempts started
// in the last two windows (index attempts_started) and their records by
// primary key, so it costs the same whatever the size of the tables.
func (s *Store) batchProgress(ctx context.Context, batchID int64) (Progress, error) {
	var p Progress
	var since *time.Time
	err := s.pool.QueryRow(ctx, `
		WITH recent AS (
			SELECT a.started_at, r.id, r.status, r.finished_at
			FROM attempts a JOIN records r ON r.id = a.record_id
			WHERE a.started_at > now() - 2 * $2::float8 * interval '1 second' AND r.batch_id = $1
		), win AS (
			SELECT CASE WHEN min(started_at) IS NULL THEN NULL
			            ELSE greatest(min(started_at), now() - $2::float8 * interval '1 second') END AS since
			FROM recent
		)
		SELECT win.since,
		       (SELECT count(DISTINCT id) FROM recent WHERE finished_at >= win.since AND status = ANY($3)),
		       now()
		FROM win`, batchID, progressWindow.Seconds(), pipeline.StatusStrings(pipeline.TerminalStatuses)).Scan(&since, &p.Finished, &p.At)
	if err != nil {
		return p, fmt.Errorf("store: batch %d progress: %w", batchID, err)
	}
	if since != nil {
		p.Since = *since
	}
	return p, nil
}

// Rate is the batch's records finished per second since p.Since (0 before
// its first call, or when it made none in the last minute).
func (p Progress) Rate() float64 {
	if p.Since.IsZero() || p.Finished == 0 {
		return 0
	}
	elapsed := max(p.At.Sub(p.Since), time.Second) // one record in its first millisecond is not 1000/s
	return float64(p.Finished) / elapsed.Seconds()
}

// ETA is the time the open records need at Rate (0: unknown, no progress yet).
func (p Progress) ETA(open int) time.Duration {
	r := p.Rate()
	if open == 0 || r == 0 {
		return 0
	}
	return time.Duration(float64(open) / r * float64(time.Second)).Round(time.Second)
}
