package store

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ReviewFilter selects review cases (records in status review).
type ReviewFilter struct {
	BatchID int64 // 0: every batch
	After   int64 // record ids after this one (paging)
	Limit   int   // default 50
}

// listReviewSQL reads review cases in id order from the partial index
// records_review (migration 00013): review records are few whatever the
// table's size.
var listReviewSQL = `SELECT ` + recordColumns + ` FROM records
	WHERE status = ` + sqlText(pipeline.StatusReview) + ` AND ($1 = 0 OR batch_id = $1) AND id > $2
	ORDER BY id LIMIT $3`

// reviewWhySQL counts review cases by why they are there: IVS's
// verification code, else the intake's error code.
var reviewWhySQL = `SELECT coalesce(verification_code::text, last_error_code, ''), count(*) FROM records
	WHERE status = ` + sqlText(pipeline.StatusReview) + ` AND ($1 = 0 OR batch_id = $1) GROUP BY 1`

// ListReview returns the review cases f selects, personal data opened (the
// caller masks it), and the number of all cases of f's batch (or of every
// batch) by why they are there.
func (s *Store) ListReview(ctx context.Context, f ReviewFilter) ([]*pipeline.Record, map[string]int, error) {
	rows, err := s.pool.Query(ctx, listReviewSQL, f.BatchID, f.After, cmp.Or(f.Limit, 50))
	if err != nil {
		return nil, nil, fmt.Errorf("store: review cases: %w", err)
	}
	recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pipeline.Record, error) { return s.scanRecord(row) })
	if err != nil {
		return nil, nil, fmt.Errorf("store: review cases: %w", err)
	}
	rows, err = s.pool.Query(ctx, reviewWhySQL, f.BatchID)
	if err != nil {
		return nil, nil, fmt.Errorf("store: review cases by reason: %w", err)
	}
	why := map[string]int{}
	for rows.Next() {
		var code string
		var n int
		if err := rows.Scan(&code, &n); err != nil {
			rows.Close()
			return nil, nil, fmt.Errorf("store: review cases by reason: %w", err)
		}
		why[code] = n
	}
	return recs, why, rows.Err()
}

// ReviewCaseIDs returns the ids of the records in review with ref (of
// batchID, or of any batch when 0), and the batches of every record with
// that ref in any status (to say why a ref is not a case).
func (s *Store) ReviewCaseIDs(ctx context.Context, batchID int64, ref string) (inReview []int64, other []RecordState, err error) {
	found, err := s.FindByRef(ctx, ref, 100)
	if err != nil {
		return nil, nil, err
	}
	for _, r := range found {
		if batchID != 0 && r.BatchID != batchID {
			continue
		}
		if r.Status == pipeline.StatusReview {
			inReview = append(inReview, r.ID)
		} else {
			other = append(other, RecordState{ID: r.ID, BatchID: r.BatchID, Status: r.Status})
		}
	}
	return inReview, other, nil
}

// RecordState is where one record stands, without personal data.
type RecordState struct {
	ID, BatchID int64
	Status      pipeline.Status
}

// Decision is a reviewer's decision on records in review.
type Decision struct {
	Decision pipeline.ReviewDecision
	Reason   string // required
	Operator string
	// CorrectedName (re-verify only) replaces the record's name, sealed,
	// for the new call: the name as the authority stores it.
	CorrectedName string
}

// DecisionResult is what Decide did.
type DecisionResult struct {
	Decided    []RecordState // the records decided on, with their new status
	NotInCase  []int64       // ids not in review (any more): left alone
	Reverified int           // records sent back for one more paid call each
}

// Decide records d for each record of ids that is in review, in one
// transaction with the command's audit row: a decisions row (who, when,
// why, the database's session_user) per record, and the record moved to
// review_approved or review_rejected (IVS's verdict kept beside it), or, to
// re-verify, back to pending at a new generation marked reverify (no dedup:
// one paid call), its verdict cleared and its name corrected when
// d.CorrectedName is set. Records not in review (and, to re-verify, erased
// ones) are left alone and listed.
func (s *Store) Decide(ctx context.Context, ids []int64, d Decision) (DecisionResult, error) {
	var res DecisionResult
	if strings.TrimSpace(d.Reason) == "" {
		return res, errors.New("store: a review decision needs a reason")
	}
	if d.CorrectedName != "" && d.Decision != pipeline.DecideReverify {
		return res, errors.New("store: a corrected name goes with a re-verification only")
	}
	var set string
	switch d.Decision {
	case pipeline.DecideApprove:
		set = `status = ` + sqlText(pipeline.StatusReviewApproved) + `, finished_at = now()`
	case pipeline.DecideReject:
		set = `status = ` + sqlText(pipeline.StatusReviewRejected) + `, finished_at = now()`
	case pipeline.DecideReverify:
		set = `status = ` + reopenedStatus("records") + `, generation = records.generation + 1, reverify = true,
			attempts = 0, finished_at = NULL, last_error_code = NULL, last_error_message = NULL, infra_failures = 0,
			infra_since = NULL, verdict = NULL, verification_code = NULL, verification_message = NULL, similarity = NULL,
			idcard_result = NULL, video_alive = NULL, video_actions = NULL, linked_record_id = NULL,
			name_enc = CASE WHEN $2 <> '' THEN $2 ELSE name_enc END`
	default:
		return res, fmt.Errorf("store: unknown review decision %q", d.Decision)
	}
	// An erased record (ops erase) has nothing left to send again.
	cond := ""
	if d.Decision == pipeline.DecideReverify {
		cond = ` AND purged_at IS NULL`
	}
	batches := map[int64]bool{}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		for _, id := range ids {
			sealed := ""
			if d.CorrectedName != "" {
				var err error
				if sealed, err = s.keys.Seal(d.CorrectedName, id); err != nil {
					return fmt.Errorf("seal the corrected name of record %d: %w", id, err)
				}
			}
			var (
				batch int64
				st    string
			)
			err := tx.QueryRow(ctx, `
				WITH r AS (SELECT id, batch_id, generation, coalesce(verification_code::text, last_error_code, '') AS why
				           FROM records WHERE id = $1 AND status = `+sqlText(pipeline.StatusReview)+cond+` FOR UPDATE),
				d AS (INSERT INTO review_decisions (record_id, batch_id, generation, decision, reason, name_corrected, why_code, operator)
				      SELECT id, batch_id, generation, $3, $4, $2 <> '', why, $5 FROM r)
				UPDATE records SET `+set+`, updated_at = now() FROM r WHERE records.id = r.id
				RETURNING records.batch_id, records.status`,
				id, sealed, string(d.Decision), d.Reason, cmp.Or(d.Operator, "unknown")).Scan(&batch, &st)
			if errors.Is(err, pgx.ErrNoRows) {
				res.NotInCase = append(res.NotInCase, id)
				continue
			}
			if err != nil {
				return fmt.Errorf("decide record %d: %w", id, err)
			}
			res.Decided = append(res.Decided, RecordState{ID: id, BatchID: batch, Status: pipeline.Status(st)})
			batches[batch] = true
		}
		if d.Decision == pipeline.DecideReverify {
			res.Reverified = len(res.Decided)
			for b := range batches {
				if _, err := tx.Exec(ctx, reopenBatchSQL, b); err != nil {
					return err
				}
			}
		}
		decided := make([]int64, 0, min(len(res.Decided), MaxForcedIDs))
		for _, r := range res.Decided[:min(len(res.Decided), MaxForcedIDs)] {
			decided = append(decided, r.ID)
		}
		a := AuditEntry{Operator: d.Operator, Command: "review-decision", Reason: d.Reason,
			Args: map[string]any{"decision": string(d.Decision), "records": len(ids), "name_corrected": d.CorrectedName != ""},
			Result: map[string]any{"decided": len(res.Decided), "not_in_review": len(res.NotInCase), "record_ids": decided,
				"paid_reverifications": res.Reverified}}
		if len(batches) == 1 {
			for b := range batches {
				a.BatchID = b
			}
		}
		return auditOperatorChange(ctx, tx, a)
	})
	if err != nil {
		return DecisionResult{}, fmt.Errorf("store: review decision: %w", err)
	}
	return res, nil
}

// DecisionRow is a stored review decision.
type DecisionRow struct {
	RecordID      int64
	Decision      pipeline.ReviewDecision
	Reason        string
	WhyCode       string
	NameCorrected bool
	Operator      string
	DBUser        string // the database's session_user
	DecidedAt     time.Time
}

// LatestDecisions returns the latest review decision of each of ids that
// has one.
func (s *Store) LatestDecisions(ctx context.Context, ids []int64) (map[int64]DecisionRow, error) {
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT ON (record_id) record_id, decision, reason, why_code, name_corrected,
		operator, db_user, decided_at FROM review_decisions WHERE record_id = ANY ($1) ORDER BY record_id, id DESC`, ids)
	if err != nil {
		return nil, fmt.Errorf("store: review decisions: %w", err)
	}
	out := map[int64]DecisionRow{}
	for rows.Next() {
		var d DecisionRow
		var dec string
		if err := rows.Scan(&d.RecordID, &dec, &d.Reason, &d.WhyCode, &d.NameCorrected, &d.Operator, &d.DBUser,
			&d.DecidedAt); err != nil {
			rows.Close()
			return nil, fmt.Errorf("store: review decisions: %w", err)
		}
		d.Decision = pipeline.ReviewDecision(dec)
		out[d.RecordID] = d
	}
	return out, rows.Err()
}

// BatchDecisionCounts counts batch's latest review decisions by decision
// (for ops status and ops report).
func (s *Store) BatchDecisionCounts(ctx context.Context, batchID int64) (map[pipeline.ReviewDecision]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT decision, count(*) FROM (
		SELECT DISTINCT ON (record_id) decision FROM review_decisions WHERE batch_id = $1 ORDER BY record_id, id DESC) d
		GROUP BY 1`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: review decisions of batch %d: %w", batchID, err)
	}
	out := map[pipeline.ReviewDecision]int{}
	for rows.Next() {
		var dec string
		var n int
		if err := rows.Scan(&dec, &n); err != nil {
			rows.Close()
			return nil, err
		}
		out[pipeline.ReviewDecision(dec)] = n
	}
	return out, rows.Err()
}
