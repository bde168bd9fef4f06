package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// recordColumns are a record's columns as a worker reads them: all but the
// customer's metadata, which only export needs. A claim neither returns nor
// opens it (it may be large, and every claim would decrypt it).
const recordColumns = `id, batch_id, ref, line, shape, name_enc, id_number_enc, idcard_image1, idcard_image2, face_image,
	video, actions, nod_threshold, detail, crop, status, generation, attempts, reverify, linked_record_id, coalesce(verdict, ''),
	verification_code, coalesce(verification_message, ''), similarity, idcard_result, video_alive, video_actions,
	coalesce(last_error_code, ''), coalesce(last_error_message, ''), created_at, updated_at, finished_at,
	coalesce(picture_ref, ''), infra_failures, infra_since, purged_at, erased_at`

// recordAndMetadataColumns are recordColumns and the record's metadata.
const recordAndMetadataColumns = recordColumns + `, metadata_enc`

// scanRecord reads one row of recordColumns and opens its personal fields.
func (s *Store) scanRecord(row pgx.Row) (*pipeline.Record, error) { return s.scan(row, false) }

// scanRecordAndMetadata reads one row of recordAndMetadataColumns and opens
// its personal fields and metadata.
func (s *Store) scanRecordAndMetadata(row pgx.Row) (*pipeline.Record, error) {
	return s.scan(row, true)
}

// scan reads one row of recordColumns, or of recordAndMetadataColumns if
// metadata, and opens its personal fields.
func (s *Store) scan(row pgx.Row, metadata bool) (*pipeline.Record, error) {
	var (
		r                    pipeline.Record
		shape, status        string
		idcard, videoActions []byte
	)
	dest := []any{&r.ID, &r.BatchID, &r.Ref, &r.Line, &shape, &r.Name, &r.IDNumber, &r.IDCard1, &r.IDCard2,
		&r.FaceImage, &r.Video, &r.Actions, &r.NodThreshold, &r.Detail, &r.Crop, &status, &r.Generation, &r.Attempts,
		&r.Reverify, &r.LinkedRecordID, &r.Result, &r.Code, &r.Message, &r.Similarity, &idcard, &r.VideoAlive, &videoActions,
		&r.LastErrorCode, &r.LastErrorMessage, &r.CreatedAt, &r.UpdatedAt, &r.FinishedAt, &r.PictureRef,
		&r.InfraFailures, &r.InfraSince, &r.PurgedAt, &r.ErasedAt}
	if metadata {
		dest = append(dest, &r.Metadata)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	var err error
	r.Shape, r.Status = pipeline.Shape(shape), pipeline.Status(status)
	if r.Name, err = s.keys.Open(r.Name, r.ID); err != nil {
		return nil, fmt.Errorf("record %d: name: %w", r.ID, err)
	}
	if r.IDNumber, err = s.keys.Open(r.IDNumber, r.ID); err != nil {
		return nil, fmt.Errorf("record %d: id number: %w", r.ID, err)
	}
	if err := s.openInputs(&r); err != nil {
		return nil, err
	}
	if err := s.decodeResults(&r, idcard, videoActions); err != nil {
		return nil, err
	}
	return &r, nil
}

// decodeResults sets r's OCR result (opened) and video actions from their
// stored JSON, when there are any.
func (s *Store) decodeResults(r *pipeline.Record, idcard, videoActions []byte) error {
	if len(idcard) > 0 {
		r.IDCardResult = new(pipeline.IDCardResult)
		if err := json.Unmarshal(idcard, r.IDCardResult); err != nil {
			return fmt.Errorf("decode idcard_result: %w", err)
		}
		if err := s.openOCR(r.IDCardResult, r.ID); err != nil {
			return fmt.Errorf("record %d: %w", r.ID, err)
		}
	}
	if len(videoActions) > 0 {
		if err := json.Unmarshal(videoActions, &r.VideoActions); err != nil {
			return fmt.Errorf("decode video_actions: %w", err)
		}
	}
	return nil
}

// openInputs opens the sealed media references and metadata (if read) of
// r. A reference stored in clear before they were sealed (it starts with
// s3:// or file://) is returned as it is, until enqueue rekey seals it.
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

// GetRecord returns record id, with its metadata.
func (s *Store) GetRecord(ctx context.Context, id int64) (*pipeline.Record, error) {
	return s.getRecord(ctx, id, true)
}

// getRecord returns record id, with its metadata if metadata.
func (s *Store) getRecord(ctx context.Context, id int64, metadata bool) (*pipeline.Record, error) {
	cols := recordColumns
	if metadata {
		cols = recordAndMetadataColumns
	}
	r, err := s.scan(s.pool.QueryRow(ctx, `SELECT `+cols+` FROM records WHERE id = $1`, id), metadata)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("store: record %d: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("store: get record %d: %w", id, err)
	}
	return r, nil
}

// ListRecords returns the records of a batch in id order, with their
// metadata, all at once: for tests and small batches (EachRecord walks a
// batch of any size).
func (s *Store) ListRecords(ctx context.Context, batchID int64) ([]*pipeline.Record, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+recordAndMetadataColumns+` FROM records WHERE batch_id = $1 ORDER BY id`, batchID)
	if err != nil {
		return nil, fmt.Errorf("store: list records of batch %d: %w", batchID, err)
	}
	defer rows.Close()
	var out []*pipeline.Record
	for rows.Next() {
		r, err := s.scanRecordAndMetadata(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list records of batch %d: %w", batchID, err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// EachRecord calls fn for every record of batch in id order, with its
// metadata (statuses: all when empty). It reads chunks by id (keyset), each
// a short query, and calls fn with no query open: no snapshot is held for
// the whole walk, however slow fn is, and memory stays bounded: a chunk
// holds at most eachRecordChunk records and eachRecordBytes of sealed
// metadata (beyond its first record), whatever the customer's columns.
func (s *Store) EachRecord(ctx context.Context, batchID int64, statuses []pipeline.Status, fn func(*pipeline.Record) error) error {
	return s.eachRecord(ctx, batchID, statuses, eachRecordBytes, fn)
}

// What a chunk of EachRecord holds at most.
const (
	eachRecordChunk = 1000
	eachRecordBytes = 16 << 20
)

// eachRecordSQL reads the chunk of batch $1's records in statuses $2 (all
// when empty) after id $3: at most $4 records, and only those whose sealed
// metadata starts within the chunk's first $5 bytes (the first record
// always does).
var eachRecordSQL = `
	SELECT ` + recordAndMetadataColumns + ` FROM (
		SELECT *, sum(octet_length(metadata_enc)) OVER (ORDER BY id) - octet_length(metadata_enc) AS metadata_before
		FROM records
		WHERE batch_id = $1 AND (coalesce(cardinality($2::text[]), 0) = 0 OR status = ANY ($2)) AND id > $3
		ORDER BY id LIMIT $4) c
	WHERE metadata_before < $5
	ORDER BY id`

func (s *Store) eachRecord(ctx context.Context, batchID int64, statuses []pipeline.Status, maxBytes int, fn func(*pipeline.Record) error) error {
	sts := pipeline.StatusStrings(statuses)
	var after int64
	for {
		rows, err := s.pool.Query(ctx, eachRecordSQL, batchID, sts, after, eachRecordChunk, maxBytes)
		if err != nil {
			return fmt.Errorf("store: records of batch %d: %w", batchID, err)
		}
		recs, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (*pipeline.Record, error) {
			return s.scanRecordAndMetadata(row)
		})
		if err != nil {
			return fmt.Errorf("store: records of batch %d after %d: %w", batchID, after, err)
		}
		if len(recs) == 0 {
			return nil
		}
		for _, r := range recs {
			if err := fn(r); err != nil {
				return err
			}
		}
		after = recs[len(recs)-1].ID
	}
}

// ocrFields are every field of an OCR result: all of them are personal
// (sex, birth date, ethnicity, issuing authority and validity narrow an id
// number down to a few hundred candidates), so all are sealed.
func ocrFields(r *pipeline.IDCardResult) []*string {
	return []*string{&r.Name, &r.Number, &r.Sex, &r.Birth, &r.Ethnicity, &r.Address, &r.Issue, &r.ValidFrom, &r.ValidTo}
}

// sealOCR seals every field of the OCR result.
func (s *Store) sealOCR(r *pipeline.IDCardResult, recordID int64) error {
	for _, f := range ocrFields(r) {
		sealed, err := s.keys.Seal(*f, recordID)
		if err != nil {
			return fmt.Errorf("seal OCR result: %w", err)
		}
		*f = sealed
	}
	return nil
}

// openOCR is the inverse of sealOCR. A field stored in clear before every
// field was sealed (no "kid:" prefix) is returned as it is, until enqueue
// rekey seals it.
func (s *Store) openOCR(r *pipeline.IDCardResult, recordID int64) error {
	for _, f := range ocrFields(r) {
		if legacyClearOCR(*f) {
			continue
		}
		plain, err := s.keys.Open(*f, recordID)
		if err != nil {
			return fmt.Errorf("open OCR result: %w", err)
		}
		*f = plain
	}
	return nil
}

// legacyClearOCR reports whether v is an OCR field stored in clear (sex,
// birth, ethnicity, issuing authority, validity before migration 00014):
// a sealed value is never empty and always "kid:base64".
func legacyClearOCR(v string) bool { return v != "" && !strings.Contains(v, ":") }
