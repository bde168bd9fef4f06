package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// BatchRef names a record by its batch and the customer's ref.
type BatchRef struct {
	BatchID int64
	Ref     string
}

// PersonRecord is a record found for an erasure, without personal data.
type PersonRecord struct {
	ID         int64
	BatchID    int64
	Status     pipeline.Status
	PictureRef string // the kept liveness picture, if any
	Erased     bool   // erased before
}

// Open reports whether the record is still on its way (pending, queued or
// in flight): an erasure leaves it alone.
func (r PersonRecord) Open() bool { return !r.Status.Terminal() }

// findPersonSQL finds records by the blind index of the id number ($1,
// under every index key the caller has) or by batch and ref ($2, $3), and
// the records that reused one of their verdicts (same inputs, so the same
// person; records_linked_to).
const findPersonSQL = `
	WITH direct AS (
		SELECT id FROM records WHERE id_hmac = ANY ($1)
		UNION
		SELECT r.id FROM records r JOIN unnest($2::bigint[], $3::text[]) AS t (batch_id, ref)
		  ON r.batch_id = t.batch_id AND r.ref = t.ref),
	linked AS (
		SELECT id FROM records WHERE linked_record_id IN (SELECT id FROM direct)
		UNION
		SELECT linked_record_id FROM records WHERE id IN (SELECT id FROM direct) AND linked_record_id IS NOT NULL)
	SELECT id, batch_id, status, coalesce(picture_ref, ''), erased_at IS NOT NULL FROM records
	WHERE id IN (SELECT id FROM direct UNION SELECT id FROM linked)
	ORDER BY id`

// FindPerson returns the records of one person: those whose id number has
// one of the blind indexes idHMACs, those named by refs, and the records
// linked to them by a reused verdict. Reading the blind index needs no key.
// The look-up by blind index reads the whole table (its index was dropped
// because every submit paid for it): erasures are rare.
func (s *Store) FindPerson(ctx context.Context, idHMACs [][]byte, refs []BatchRef) ([]PersonRecord, error) {
	batches := make([]int64, len(refs))
	names := make([]string, len(refs))
	for i, r := range refs {
		batches[i], names[i] = r.BatchID, r.Ref
	}
	rows, err := s.pool.Query(ctx, findPersonSQL, idHMACs, batches, names)
	if err != nil {
		return nil, fmt.Errorf("store: find person's records: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (PersonRecord, error) {
		var r PersonRecord
		var st string
		err := row.Scan(&r.ID, &r.BatchID, &st, &r.PictureRef, &r.Erased)
		r.Status = pipeline.Status(st)
		return r, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: find person's records: %w", err)
	}
	return out, nil
}

// eraseSQL removes the personal data of the final records $1 ($2: final
// statuses): inputs, blind indexes and digest (no verdict of theirs is
// reused again), OCR, picture reference and error messages; the verdict
// stays as an anonymous tombstone.
var eraseSQL = `
	WITH a AS (UPDATE attempts SET message = NULL WHERE record_id = ANY ($1) AND message IS NOT NULL
	       AND record_id IN (SELECT id FROM records WHERE id = ANY ($1) AND status = ANY ($2))),
	old AS (SELECT id, purged_at IS NULL AS unpurged FROM records WHERE id = ANY ($1) AND status = ANY ($2) FOR UPDATE)
	UPDATE records r SET ` + clearInputsSQL + `, idcard_result = NULL, picture_ref = NULL, last_error_message = NULL,
	       purged_at = coalesce(r.purged_at, now()), erased_at = now()
	FROM old WHERE r.id = old.id
	RETURNING r.id, r.batch_id, old.unpurged`

// Erase removes the personal data of the records ids that are final (see
// eraseSQL; open ones are left alone), counts them per batch and writes the
// audit entry a, with the counts, in the same transaction. The kept
// pictures' objects must be deleted before. It returns the erased ids.
func (s *Store) Erase(ctx context.Context, ids []int64, a AuditEntry) ([]int64, error) {
	var erased []int64
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, eraseSQL, ids, terminal)
		if err != nil {
			return err
		}
		type counts struct{ erased, purged int }
		byBatch := map[int64]*counts{}
		for rows.Next() {
			var id, batch int64
			var unpurged bool
			if err := rows.Scan(&id, &batch, &unpurged); err != nil {
				return err
			}
			erased = append(erased, id)
			c := byBatch[batch]
			if c == nil {
				c = &counts{}
				byBatch[batch] = c
			}
			c.erased++
			if unpurged {
				c.purged++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for b, c := range byBatch {
			if _, err := tx.Exec(ctx, `UPDATE batches SET records_erased = records_erased + $2,
				records_purged = records_purged + $3 WHERE id = $1`, b, c.erased, c.purged); err != nil {
				return err
			}
		}
		if a.Result == nil {
			a.Result = map[string]any{}
		}
		a.Result["erased"] = len(erased)
		a.Result["batches"] = len(byBatch)
		return AuditTx(ctx, tx, a)
	})
	if err != nil {
		return nil, fmt.Errorf("store: erase: %w", err)
	}
	return erased, nil
}

// PurgedCounts returns how many records of batch hold only their verdict
// (purged: retention passed or erased) and how many of them were erased on
// request.
func (s *Store) PurgedCounts(ctx context.Context, batch int64) (purged, erased int, err error) {
	err = s.pool.QueryRow(ctx, `SELECT records_purged, records_erased FROM batches WHERE id = $1`, batch).Scan(&purged, &erased)
	if err != nil {
		return 0, 0, fmt.Errorf("store: purged records of batch %d: %w", batch, err)
	}
	return purged, erased, nil
}
