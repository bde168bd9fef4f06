package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ---- audit log ----

// AuditEntry is one row of audit_log: who did what, with which arguments, to
// which batch, why, and what came of it. Args and Result must never hold
// personal data (names, id numbers, images): record ids, codes, counts and
// paths only.
type AuditEntry struct {
	Operator string
	Command  string         // "requeue", "budget", "export", "report", "reconcile", "rotate-keys" …
	Args     map[string]any // stored as jsonb
	BatchID  int64          // 0: not about one batch
	Reason   string
	Result   map[string]any // stored as jsonb
}

// AuditRow is a stored AuditEntry.
type AuditRow struct {
	ID int64
	At time.Time
	AuditEntry
}

// Audit writes e to the audit log.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return audit(ctx, tx, e) })
}

func audit(ctx context.Context, tx pgx.Tx, e AuditEntry) error {
	if e.Operator == "" {
		e.Operator = "unknown"
	}
	args, err := json.Marshal(orEmpty(e.Args))
	if err != nil {
		return fmt.Errorf("store: audit args: %w", err)
	}
	result, err := json.Marshal(orEmpty(e.Result))
	if err != nil {
		return fmt.Errorf("store: audit result: %w", err)
	}
	var batch *int64
	if e.BatchID != 0 {
		batch = &e.BatchID
	}
	_, err = tx.Exec(ctx, `INSERT INTO audit_log (operator, command, args, batch_id, reason, result)
		VALUES ($1, $2, $3, $4, $5, $6)`, e.Operator, e.Command, args, batch, e.Reason, result)
	if err != nil {
		return fmt.Errorf("store: write audit log: %w", err)
	}
	return nil
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// ListAudit returns the latest n audit rows, newest first (command "" = all).
func (s *Store) ListAudit(ctx context.Context, command string, n int) ([]AuditRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, at, operator, command, args, coalesce(batch_id, 0), reason, result
		FROM audit_log WHERE $1 = '' OR command = $1 ORDER BY id DESC LIMIT $2`, command, n)
	if err != nil {
		return nil, fmt.Errorf("store: list audit log: %w", err)
	}
	defer rows.Close()
	var out []AuditRow
	for rows.Next() {
		var r AuditRow
		var args, result []byte
		if err := rows.Scan(&r.ID, &r.At, &r.Operator, &r.Command, &args, &r.BatchID, &r.Reason, &result); err != nil {
			return nil, fmt.Errorf("store: scan audit row: %w", err)
		}
		_ = json.Unmarshal(args, &r.Args)
		_ = json.Unmarshal(result, &r.Result)
		out = append(out, r)
	}
	return out, rows.Err()
}

// ---- budget ----

// Budget is a batch's cap on billed calls and how much of it is used.
type Budget struct {
	BatchID   int64
	MaxBilled int // 0: no cap
	Used      int // budget_used: attempts reserved, in flight, billed or possibly billed
	Billed    int // attempts stored as billed
	Possibly  int // attempts stored as possibly billed
}

// SetBudget sets batch's cap on billed calls (0: no cap) and returns the
// budget as it now stands. The audit entry, when given, is written in the
// same transaction.
func (s *Store) SetBudget(ctx context.Context, batchID int64, max int, a *AuditEntry) (Budget, error) {
	if max < 0 {
		return Budget{}, errors.New("store: budget must be ≥ 0")
	}
	var b Budget
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var old int
		err := tx.QueryRow(ctx, `SELECT max_billed FROM batches WHERE id = $1 FOR UPDATE`, batchID).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("batch %d: %w", batchID, pipeline.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE batches SET max_billed = $2 WHERE id = $1`, batchID, max); err != nil {
			return err
		}
		if b, err = getBudget(ctx, tx, batchID); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		e := *a
		e.BatchID = batchID
		e.Result = map[string]any{"old_max_billed": old, "max_billed": max, "used": b.Used, "billed": b.Billed,
			"possibly_billed": b.Possibly}
		return audit(ctx, tx, e)
	})
	if err != nil {
		return b, fmt.Errorf("store: set budget of batch %d: %w", batchID, err)
	}
	return b, nil
}

// GetBudget returns batch's budget.
func (s *Store) GetBudget(ctx context.Context, batchID int64) (Budget, error) {
	b, err := getBudget(ctx, s.pool, batchID)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("store: batch %d: %w", batchID, pipeline.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("store: budget of batch %d: %w", batchID, err)
	}
	return b, nil
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func getBudget(ctx context.Context, q querier, batchID int64) (Budget, error) {
	b := Budget{BatchID: batchID}
	err := q.QueryRow(ctx, `
		SELECT b.max_billed, b.budget_used,
		       (SELECT count(*) FROM attempts a JOIN records r ON r.id = a.record_id WHERE r.batch_id = b.id AND a.billed),
		       (SELECT count(*) FROM attempts a JOIN records r ON r.id = a.record_id
		         WHERE r.batch_id = b.id AND a.possibly_billed AND NOT a.billed)
		FROM batches b WHERE b.id = $1`, batchID).Scan(&b.MaxBilled, &b.Used, &b.Billed, &b.Possibly)
	return b, err
}

// ---- reconcile ----

func countOpenOlderSQL(status pipeline.Status) string {
	return `SELECT count(*) FROM records WHERE status = ` + sqlStatuses(status) + ` AND updated_at < $1`
}

// StaleAttempt is an attempt still in_flight long after it started: the
// worker died between the call and storing its outcome, so the call may have
// been billed.
type StaleAttempt struct {
	ID           int64
	RecordID     int64
	BatchID      int64
	UUID         string
	StartedAt    time.Time
	RecordStatus pipeline.Status
	Closed       bool // marked abandoned + possibly billed by CloseStaleAttempts
}

// CloseStaleAttempts finds attempts in_flight that started before olderThan.
// Those whose record is no longer in_flight (no Claim will close them) are
// marked abandoned and possibly billed; the others are left for the record's
// next Claim, which closes them and counts them against its attempts.
func (s *Store) CloseStaleAttempts(ctx context.Context, olderThan time.Time, dryRun bool) ([]StaleAttempt, error) {
	var out []StaleAttempt
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `
			SELECT a.id, a.record_id, r.batch_id, a.uuid, a.started_at, r.status
			FROM attempts a JOIN records r ON r.id = a.record_id
			WHERE a.state = 'in_flight' AND a.started_at < $1
			ORDER BY a.id FOR UPDATE OF a`, olderThan)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var a StaleAttempt
			var st string
			if err := rows.Scan(&a.ID, &a.RecordID, &a.BatchID, &a.UUID, &a.StartedAt, &st); err != nil {
				rows.Close()
				return err
			}
			a.RecordStatus = pipeline.Status(st)
			if a.RecordStatus != pipeline.StatusInFlight && !dryRun {
				a.Closed = true
				ids = append(ids, a.ID)
			}
			out = append(out, a)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `UPDATE attempts SET state = 'abandoned', finished_at = now(), possibly_billed = true,
			message = 'abandoned (reconcile): the worker stopped before storing the outcome'
			WHERE id = ANY ($1) AND state = 'in_flight'`, ids)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: stale attempts: %w", err)
	}
	return out, nil
}

// CountOpenOlder counts records in status whose status has not changed since olderThan.
func (s *Store) CountOpenOlder(ctx context.Context, status pipeline.Status, olderThan time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, countOpenOlderSQL(status), olderThan).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: count %s records: %w", status, err)
	}
	return n, nil
}

// FailedSince counts records finished as failed after t, by last_error_code.
func (s *Store) FailedSince(ctx context.Context, t time.Time) (map[string]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT coalesce(last_error_code, ''), count(*) FROM records
		WHERE status = 'failed' AND finished_at > $1 GROUP BY 1`, t)
	if err != nil {
		return nil, fmt.Errorf("store: failed records: %w", err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			return nil, err
		}
		out[code] = n
	}
	return out, rows.Err()
}

// PossiblyBilledSince counts attempts marked possibly billed (and not billed)
// that finished after t: calls the invoice may hold that no verdict shows.
func (s *Store) PossiblyBilledSince(ctx context.Context, t time.Time) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM attempts
		WHERE possibly_billed AND NOT billed AND finished_at > $1`, t).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("store: possibly billed attempts: %w", err)
	}
	return n, nil
}

// LastReconcile returns when the previous reconcile run started (ok=false if none).
func (s *Store) LastReconcile(ctx context.Context) (time.Time, bool, error) {
	var t time.Time
	err := s.pool.QueryRow(ctx, `SELECT started_at FROM reconcile_runs ORDER BY id DESC LIMIT 1`).Scan(&t)
	if errors.Is(err, pgx.ErrNoRows) {
		return t, false, nil
	}
	if err != nil {
		return t, false, fmt.Errorf("store: last reconcile run: %w", err)
	}
	return t, true, nil
}

// SaveReconcile stores a reconcile run's summary (any JSON-encodable value)
// and its audit entry in one transaction, and returns the run's id.
func (s *Store) SaveReconcile(ctx context.Context, started time.Time, needsHuman bool, summary any, a *AuditEntry) (int64, error) {
	b, err := json.Marshal(summary)
	if err != nil {
		return 0, fmt.Errorf("store: encode reconcile summary: %w", err)
	}
	var id int64
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `INSERT INTO reconcile_runs (started_at, needs_human, summary) VALUES ($1, $2, $3)
			RETURNING id`, started, needsHuman, b).Scan(&id); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		e := *a
		if e.Result == nil {
			e.Result = map[string]any{}
		}
		e.Result["reconcile_run"] = id
		e.Result["needs_human"] = needsHuman
		return audit(ctx, tx, e)
	})
	if err != nil {
		return 0, fmt.Errorf("store: save reconcile run: %w", err)
	}
	return id, nil
}

// ---- export and report data ----

// EachRecord calls fn for every record of batch in id order (statuses: all
// when empty). It reads chunks of 1000 records by id (keyset), each a short
// query, and calls fn with no query open: memory stays bounded and no
// snapshot is held for the whole walk, however slow fn is.
func (s *Store) EachRecord(ctx context.Context, batchID int64, statuses []pipeline.Status, fn func(*pipeline.Record) error) error {
	const chunk = 1000
	sts := pipeline.StatusStrings(statuses)
	var after int64
	for {
		rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM records
			WHERE batch_id = $1 AND (coalesce(cardinality($2::text[]), 0) = 0 OR status = ANY ($2)) AND id > $3
			ORDER BY id LIMIT $4`, batchID, sts, after, chunk)
		if err != nil {
			return fmt.Errorf("store: records of batch %d: %w", batchID, err)
		}
		recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pipeline.Record, error) { return s.scanRecord(row) })
		if err != nil {
			return fmt.Errorf("store: records of batch %d after %d: %w", batchID, after, err)
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(recs) < chunk {
			return nil
		}
		after = recs[len(recs)-1].ID
	}
}

// SimilarityBins counts the batch's records by similarity in ten bins of
// width 10 (scores over 100, detail scores of 0–1000, scaled down first).
func (s *Store) SimilarityBins(ctx context.Context, batchID int64) ([]int, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT least(9, greatest(0, floor(CASE WHEN similarity > 100 THEN similarity / 10 ELSE similarity END / 10)))::int,
		       count(*)::int
		FROM records WHERE batch_id = $1 AND similarity IS NOT NULL GROUP BY 1`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: similarities of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	bins := make([]int, 10)
	for rows.Next() {
		var i, n int
		if err := rows.Scan(&i, &n); err != nil {
			return nil, fmt.Errorf("store: similarities of batch %d: %w", batchID, err)
		}
		bins[i] = n
	}
	return bins, rows.Err()
}

// CodeBucket is how many attempts of a batch ended with Code in one time bucket.
type CodeBucket struct {
	At    time.Time
	Code  string
	Count int
}

// AttemptErrorCodes returns, per bucket (date_trunc unit: "minute", "hour"…),
// the codes of the batch's attempts that did not end with a verdict (errors,
// throttling, abandoned calls), oldest first.
func (s *Store) AttemptErrorCodes(ctx context.Context, batchID int64, unit string) ([]CodeBucket, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc($2, a.started_at) AS t,
		       CASE WHEN a.state = 'abandoned' THEN 'abandoned' ELSE coalesce(a.code, 'unknown') END AS code, count(*)
		FROM attempts a JOIN records r ON r.id = a.record_id
		WHERE r.batch_id = $1 AND (a.state = 'abandoned' OR (a.state = 'finished' AND coalesce(a.class, '') <> 'verdict'))
		GROUP BY 1, 2 ORDER BY 1, 2`, batchID, unit)
	if err != nil {
		return nil, fmt.Errorf("store: attempt codes of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []CodeBucket
	for rows.Next() {
		var b CodeBucket
		if err := rows.Scan(&b.At, &b.Code, &b.Count); err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, rows.Err()
}

// SecondCount is how many attempts to Endpoint started within one second.
type SecondCount struct {
	At       time.Time
	Endpoint string
	Count    int
}

// CallsPerSecond returns the batch's attempts per started second and endpoint, oldest first.
func (s *Store) CallsPerSecond(ctx context.Context, batchID int64) ([]SecondCount, error) {
	rows, err := s.pool.Query(ctx, `
		SELECT date_trunc('second', a.started_at), a.endpoint, count(*)
		FROM attempts a JOIN records r ON r.id = a.record_id
		WHERE r.batch_id = $1 GROUP BY 1, 2 ORDER BY 1, 2`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: calls per second of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []SecondCount
	for rows.Next() {
		var c SecondCount
		if err := rows.Scan(&c.At, &c.Endpoint, &c.Count); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}
