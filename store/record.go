package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

const recordColumns = `id, batch_id, ref, line, shape, name_enc, id_number_enc, idcard_image1, idcard_image2, face_image,
	video, actions, nod_threshold, detail, crop, status, generation, attempts, reverify, linked_record_id, coalesce(verdict, ''),
	verification_code, coalesce(verification_message, ''), similarity, idcard_result, video_alive, video_actions,
	coalesce(last_error_code, ''), coalesce(last_error_message, ''), created_at, updated_at, finished_at,
	coalesce(picture_ref, ''), metadata_enc, infra_failures, infra_since`

// scanRecord reads one row of recordColumns and opens its personal fields.
func (s *Store) scanRecord(row pgx.Row) (*pipeline.Record, error) {
	var (
		r                    pipeline.Record
		shape, status        string
		idcard, videoActions []byte
	)
	err := row.Scan(&r.ID, &r.BatchID, &r.Ref, &r.Line, &shape, &r.Name, &r.IDNumber, &r.IDCard1, &r.IDCard2,
		&r.FaceImage, &r.Video, &r.Actions, &r.NodThreshold, &r.Detail, &r.Crop, &status, &r.Generation, &r.Attempts,
		&r.Reverify, &r.LinkedRecordID, &r.Result, &r.Code, &r.Message, &r.Similarity, &idcard, &r.VideoAlive, &videoActions,
		&r.LastErrorCode, &r.LastErrorMessage, &r.CreatedAt, &r.UpdatedAt, &r.FinishedAt, &r.PictureRef, &r.Metadata,
		&r.InfraFailures, &r.InfraSince)
	if err != nil {
		return nil, err
	}
	r.Shape, r.Status = ivs.Shape(shape), pipeline.Status(status)
	if r.Name, err = s.keys.Open(r.Name, r.ID); err != nil {
		return nil, fmt.Errorf("record %d: name: %w", r.ID, err)
	}
	if r.IDNumber, err = s.keys.Open(r.IDNumber, r.ID); err != nil {
		return nil, fmt.Errorf("record %d: id number: %w", r.ID, err)
	}
	if err := s.openInputs(&r); err != nil {
		return nil, err
	}
	if len(idcard) > 0 {
		r.IDCardResult = new(ivs.IDCardResult)
		if err := json.Unmarshal(idcard, r.IDCardResult); err != nil {
			return nil, fmt.Errorf("decode idcard_result: %w", err)
		}
		if err := s.openOCR(r.IDCardResult, r.ID); err != nil {
			return nil, fmt.Errorf("record %d: %w", r.ID, err)
		}
	}
	if len(videoActions) > 0 {
		if err := json.Unmarshal(videoActions, &r.VideoActions); err != nil {
			return nil, fmt.Errorf("decode video_actions: %w", err)
		}
	}
	return &r, nil
}

// openInputs opens the sealed media references and metadata of r. A
// reference stored in clear before they were sealed (it starts with s3:// or
// file://) is returned as it is, until enqueue rekey seals it.
func (s *Store) openInputs(r *pipeline.Record) error {
	for _, f := range []*string{&r.IDCard1, &r.IDCard2, &r.FaceImage, &r.Video, &r.Metadata} {
		if legacyClearRef(*f) {
			continue
		}
		plain, err := s.keys.Open(*f, r.ID)
		if err != nil {
			return fmt.Errorf("record %d: media reference or metadata: %w", r.ID, err)
		}
		*f = plain
	}
	return nil
}

// legacyClearRef reports whether v is a media reference stored in clear.
func legacyClearRef(v string) bool {
	return strings.HasPrefix(v, "s3://") || strings.HasPrefix(v, "file://")
}

// GetRecord returns record id.
func (s *Store) GetRecord(ctx context.Context, id int64) (*pipeline.Record, error) {
	r, err := s.scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM records WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: record %d: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get record %d: %w", id, err)
	}
	return r, nil
}

// ListRecords returns the records of a batch in id order.
func (s *Store) ListRecords(ctx context.Context, batchID int64) ([]*pipeline.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordColumns+` FROM records WHERE batch_id = $1 ORDER BY id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: list records of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []*pipeline.Record
	for rows.Next() {
		r, err := s.scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list records of batch %d: %w", batchID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

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

// sealOCR seals the OCR result's personal fields (name, number, address).
func (s *Store) sealOCR(r *ivs.IDCardResult, recordID int64) error {
	for _, f := range []*string{&r.Name, &r.Number, &r.Address} {
		sealed, err := s.keys.Seal(*f, recordID)
		if err != nil {
			return fmt.Errorf("seal OCR result: %w", err)
		}
		*f = sealed
	}
	return nil
}

// openOCR is the inverse of sealOCR.
func (s *Store) openOCR(r *ivs.IDCardResult, recordID int64) error {
	for _, f := range []*string{&r.Name, &r.Number, &r.Address} {
		plain, err := s.keys.Open(*f, recordID)
		if err != nil {
			return fmt.Errorf("open OCR result: %w", err)
		}
		*f = plain
	}
	return nil
}
