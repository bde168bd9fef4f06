package store

import (
	"strconv"
	"time"
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

// progressSample bounds how many of the batch's latest attempts the rate
// is measured over: at high rates the window is the span of the latest
// progressSample attempts instead of a whole minute, so a status costs the
// same at 10 records/s and at 1,000.
const progressSample = 2000

// batchProgressSQL measures a batch's Progress (GetBatchStatus). It reads
// at most progressSample of the batch's latest attempts (index
// attempts_batch_started, newest first) and their records by primary key,
// so it costs the same whatever the size of the tables and the rate.
//
// The batch's ($1) latest attempts within the window ($2
// seconds), at most progressSample of them (a literal, so that a generic
// plan knows how few); since is the oldest of them; and the
// records they called for that are final ($3) and finished since then. The
// latest are taken first and the window applied to them, so only
// attempts_batch_started serves the scan; the LATERAL (not flattened:
// OFFSET 0) looks each record up by primary key, so the plan holds without
// statistics.
var batchProgressSQL = `
	WITH latest AS (
		SELECT started_at, record_id FROM attempts WHERE batch_id = $1 ORDER BY started_at DESC LIMIT ` +
	strconv.Itoa(progressSample) + `
	), recent AS (
		SELECT * FROM latest WHERE started_at > now() - $2::float8 * interval '1 second'
	), win AS (
		SELECT min(started_at) AS since FROM recent
	)
	SELECT win.since,
	       (SELECT count(DISTINCT r.id) FROM recent,
	               LATERAL (SELECT id FROM records WHERE id = recent.record_id AND finished_at >= win.since
	                        AND status = ANY ($3) OFFSET 0) r),
	       now()
	FROM win`

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
