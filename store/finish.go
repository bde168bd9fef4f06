package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Finish completes the attempt (if any) and applies the outcome to the record
// in one transaction, committed synchronously (a paid call's outcome is
// durable before the task is acknowledged) and shared with other tasks'
// writes (see group.go). The record changes only if it is not terminal and is
// still at o.Generation; otherwise the attempt is still completed and
// ErrTerminal (or ErrStaleGeneration) is returned.
func (s *Store) Finish(ctx context.Context, o pipeline.Outcome) error {
	w, err := s.newFinishWrite(o)
	if err != nil {
		return err
	}
	if err := s.commit.durable.Write(ctx, w); err != nil {
		return fmt.Errorf("store: finish record %d: %w", o.RecordID, err)
	}
	if w.unchanged {
		return s.whyUnchanged(ctx, o)
	}
	return nil
}

// finishWrite is Finish's write: the outcome with its sealed and encoded
// parts, and whether the record was left unchanged.
type finishWrite struct {
	o                    pipeline.Outcome
	idcard, videoActions []byte // idcard_result (sealed) and video_actions, as stored
	idHMAC               []byte // blind index of the OCR's id number (card shapes: found by ops erase)
	unchanged            bool
}

// newFinishWrite seals and encodes o's OCR result and video actions.
func (s *Store) newFinishWrite(o pipeline.Outcome) (*finishWrite, error) {
	w := &finishWrite{o: o}
	var err error
	if o.Verdict.IDCardResult != nil {
		sealed := *o.Verdict.IDCardResult
		if err := s.sealOCR(&sealed, o.RecordID); err != nil {
			return nil, fmt.Errorf("store: record %d: %w", o.RecordID, err)
		}
		if w.idcard, err = json.Marshal(sealed); err != nil {
			return nil, fmt.Errorf("store: encode idcard_result: %w", err)
		}
		if n, err := identity.NormalizeIDNumber(o.Verdict.IDCardResult.Number); err == nil {
			w.idHMAC = s.keys.Index(n)
		}
	}
	if o.Verdict.VideoActions != nil {
		if w.videoActions, err = json.Marshal(o.Verdict.VideoActions); err != nil {
			return nil, fmt.Errorf("store: encode video_actions: %w", err)
		}
	}
	return w, nil
}

func (w *finishWrite) Reset() { w.unchanged = false }

// queue completes the attempt, if any, and applies the outcome to the
// record. The attempt is completed (the call stays accounted for) even when
// the record is not changed.
func (w *finishWrite) queue(b *pgx.Batch) {
	o, v := w.o, w.o.Verdict
	if o.AttemptID != 0 {
		a := o.Attempt
		b.Queue(finishAttemptSQL, o.AttemptID, a.FinishedAt, nullIfZero(a.HTTPStatus), nullIfEmpty(a.Code),
			nullIfEmpty(a.Message), nullIfEmpty(a.RequestID), a.Class.String(), a.Billed, a.PossiblyBilled)
	}
	count := 0
	if o.CountAttempt {
		count = 1
	}
	b.Queue(finishRecordSQL,
		o.RecordID, o.Generation, string(o.Status), count, nullIfEmpty(v.Result), v.Code, nullIfEmpty(v.Message),
		v.Similarity, w.idcard, v.VideoAlive, w.videoActions, nullIfEmpty(o.ErrorCode), nullIfEmpty(o.ErrorMessage),
		o.LinkedRecordID, nullIfEmpty(v.PictureRef), o.Infra, o.AttemptID != 0, terminal, w.idHMAC).Exec(func(tag pgconn.CommandTag) error {
		w.unchanged = tag.RowsAffected() == 0
		return nil
	})
}

// finishAttemptSQL completes attempt $1 with its outcome. The attempt holds
// a budget slot while reserved or in flight, and afterwards only if it was
// (possibly) billed: the batch's budget_used follows in the same statement.
var finishAttemptSQL = `
	WITH old AS (
		SELECT a.id, a.batch_id, ` + slotHeld("a") + ` AS held FROM attempts a WHERE a.id = $1 FOR UPDATE),
	upd AS (
		UPDATE attempts a SET state = ` + sqlText(AttemptFinished) + `, finished_at = $2,
		       duration_ms = GREATEST(0, (extract(epoch FROM ($2 - a.started_at)) * 1000)::int),
		       http_status = $3, code = $4, message = $5, request_id = $6, class = $7,
		       billed = $8, possibly_billed = $9
		FROM old WHERE a.id = old.id
		RETURNING a.batch_id, old.held, (a.billed OR a.possibly_billed) AS holds)
	UPDATE batches b SET budget_used = GREATEST(0, b.budget_used + upd.holds::int - upd.held::int)
	FROM upd WHERE b.id = upd.batch_id AND upd.holds <> upd.held`

// finishRecordSQL applies an outcome to record $1 if it is still at
// generation $2 and not final ($18).
var finishRecordSQL = `
	UPDATE records SET status = $3, attempts = attempts + $4,
	       verdict = coalesce($5, verdict), verification_code = coalesce($6, verification_code),
	       verification_message = coalesce($7, verification_message), similarity = coalesce($8, similarity),
	       idcard_result = coalesce($9, idcard_result), video_alive = coalesce($10, video_alive),
	       video_actions = coalesce($11, video_actions),
	       last_error_code = $12, last_error_message = $13, linked_record_id = coalesce($14, linked_record_id),
	       picture_ref = coalesce($15, picture_ref), id_hmac = coalesce(id_hmac, $19),
	       infra_failures = CASE WHEN $16 THEN infra_failures + 1 WHEN $17 THEN 0 ELSE infra_failures END,
	       infra_since = CASE WHEN $16 THEN coalesce(infra_since, now()) WHEN $17 THEN NULL ELSE infra_since END,
	       updated_at = now(), finished_at = CASE WHEN $3 = ANY ($18) THEN now() END
	WHERE id = $1 AND generation = $2 AND status <> ALL ($18)`

// whyUnchanged says why Finish left the record as it was: it is final
// already (ErrTerminal), or at another generation (ErrStaleGeneration).
func (s *Store) whyUnchanged(ctx context.Context, o pipeline.Outcome) error {
	var status string
	var gen int
	err := s.pool.QueryRow(ctx, `SELECT status, generation FROM records WHERE id = $1`, o.RecordID).Scan(&status, &gen)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return fmt.Errorf("store: record %d: %w", o.RecordID, pipeline.ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: record %d: %w", o.RecordID, err)
	case gen != o.Generation:
		return fmt.Errorf("store: record %d at generation %d: %w", o.RecordID, gen, pipeline.ErrStaleGeneration)
	}
	return fmt.Errorf("store: record %d is %s: %w", o.RecordID, status, pipeline.ErrTerminal)
}
