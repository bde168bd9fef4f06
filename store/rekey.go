package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Rekey re-seals every personal field that is not under the keyring's
// active key (after a new key was added and made active). It works in
// chunks of chunk records, each in its own transaction, so it can run while
// workers run and be resumed after an interruption. It returns how many
// records it changed. The old key must stay in the keyring until it returns.
// It also moves the blind indexes to the current index key (reindexRow).
func (s *Store) Rekey(ctx context.Context, chunk int) (int, error) {
	if s.keys == nil {
		return 0, pii.ErrNoKeys
	}
	if chunk <= 0 {
		chunk = 500
	}
	active := s.keys.ActiveKeyID()
	changed := 0
	var after int64
	for {
		n, last, err := s.rekeyChunk(ctx, active, after, chunk)
		changed += n
		if err != nil {
			return changed, err
		}
		if last == 0 {
			return changed, nil
		}
		after = last
	}
}

// rekeyChunk re-seals the chunk records after id after, in one
// transaction, and returns how many it changed and the chunk's last id (0:
// no record left).
func (s *Store) rekeyChunk(ctx context.Context, active string, after int64, chunk int) (changed int, last int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, name_enc, id_number_enc, idcard_result,
			idcard_image1, idcard_image2, face_image, video, metadata_enc,
			status, shape, coalesce(actions, ''), id_hmac, input_hmac, input_digest FROM records
			WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE`, after, chunk)
		if err != nil {
			return err
		}
		todo, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealedRow, error) {
			var r sealedRow
			err := row.Scan(&r.id, &r.name, &r.number, &r.ocr, &r.inputs[0], &r.inputs[1], &r.inputs[2], &r.inputs[3],
				&r.inputs[4], &r.status, &r.shape, &r.actions, &r.idHMAC, &r.inputHMAC, &r.digest)
			return r, err
		})
		if err != nil || len(todo) == 0 {
			return err
		}
		last = todo[len(todo)-1].id
		for _, r := range todo {
			reindexed, err := s.reindexRow(&r)
			if err != nil {
				return err
			}
			resealed, err := s.resealRow(&r, active)
			if err != nil {
				return err
			}
			if !resealed && !reindexed {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE records SET name_enc = $2, id_number_enc = $3, idcard_result = $4,
				idcard_image1 = $5, idcard_image2 = $6, face_image = $7, video = $8, metadata_enc = $9,
				id_hmac = $10, input_hmac = $11, input_digest = $12 WHERE id = $1`,
				r.id, r.name, r.number, r.ocr, r.inputs[0], r.inputs[1], r.inputs[2], r.inputs[3], r.inputs[4],
				r.idHMAC, r.inputHMAC, r.digest); err != nil {
				return err
			}
			changed++
		}
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("store: rekey records after %d: %w", after, err)
	}
	return changed, last, nil
}

// sealedRow is a record's sealed fields and blind indexes, as rekeyChunk
// reads and writes them.
type sealedRow struct {
	id                        int64
	name, number              string
	ocr                       []byte
	inputs                    [5]string // media references and metadata
	status, shape, actions    string
	idHMAC, inputHMAC, digest []byte
}

// underOtherIndexKey reports whether a stored blind index value was made
// under another index key than the current one (tag), or before values
// were tagged.
func underOtherIndexKey(v, tag []byte) bool {
	return v != nil && !bytes.HasSuffix(v, tag)
}

// reindexRow moves r's blind indexes to the current index key: the id
// number's (id_hmac, from the sealed id number or the OCR's) and the
// inputs' (input_hmac) are made again from the sealed values. The digest
// dedup reads (input_digest) covers the media's content, which is not
// stored: one stored before tags, outside a rotation, was made under the
// only key there was and is tagged; otherwise a final record's is cleared
// (its verdict is not reused after the rotation: identical inputs are
// verified again) and an open record's is left, to be counted
// (IndexedElsewhere) and handled by a later run once the record finished.
func (s *Store) reindexRow(r *sealedRow) (bool, error) {
	tag := s.keys.IndexTag()
	changed := false
	if underOtherIndexKey(r.idHMAC, tag) {
		number, err := s.openField(r.number, r.id)
		if err != nil {
			return false, err
		}
		if number == "" && len(r.ocr) > 0 {
			var ocr pipeline.IDCardResult
			if err := json.Unmarshal(r.ocr, &ocr); err != nil {
				return false, fmt.Errorf("record %d: idcard_result: %w", r.id, err)
			}
			if number, err = s.openField(ocr.Number, r.id); err != nil {
				return false, err
			}
		}
		r.idHMAC, changed = nil, true
		if number != "" {
			r.idHMAC = s.keys.Index(indexableIDNumber(number))
		}
	}
	if underOtherIndexKey(r.inputHMAC, tag) {
		parts := []string{r.shape} // then as sealInputs indexes them: id number, name, media
		for _, v := range []string{r.number, r.name, r.inputs[0], r.inputs[1], r.inputs[2], r.inputs[3]} {
			plain, err := s.openField(v, r.id)
			if err != nil {
				return false, err
			}
			parts = append(parts, plain)
		}
		r.inputHMAC, changed = s.keys.Index(append(parts, r.actions)...), true
	}
	if underOtherIndexKey(r.digest, tag) {
		switch {
		case len(r.digest) == sha256.Size && !s.keys.Rotating():
			r.digest, changed = append(r.digest[:len(r.digest):len(r.digest)], tag...), true
		case pipeline.Status(r.status).Terminal():
			r.digest, changed = nil, true
		}
	}
	return changed, nil
}

// openField opens a sealed value of record id (a media reference stored
// in clear before references were sealed is returned as it is).
func (s *Store) openField(v string, id int64) (string, error) {
	if v == "" || legacyClearRef(v) || legacyClearOCR(v) {
		return v, nil
	}
	plain, err := s.keys.Open(v, id)
	if err != nil {
		return "", fmt.Errorf("record %d: %w", id, err)
	}
	return plain, nil
}

// resealRow re-seals r's fields not under the active key and reports
// whether any changed.
func (s *Store) resealRow(r *sealedRow, active string) (bool, error) {
	changed := false
	for _, f := range []*string{&r.name, &r.number} {
		v, c, err := s.reseal(*f, r.id, active)
		if err != nil {
			return false, err
		}
		*f, changed = v, changed || c
	}
	ocr, c, err := s.resealOCR(r.ocr, r.id, active)
	if err != nil {
		return false, err
	}
	r.ocr, changed = ocr, changed || c
	for i, v := range r.inputs {
		sealed, c, err := s.resealInput(v, r.id, active)
		if err != nil {
			return false, err
		}
		r.inputs[i], changed = sealed, changed || c
	}
	return changed, nil
}

func (s *Store) reseal(env string, id int64, active string) (string, bool, error) {
	if env == "" || pii.KeyID(env) == active {
		return env, false, nil
	}
	plain, err := s.keys.Open(env, id)
	if err != nil {
		return "", false, fmt.Errorf("record %d: %w", id, err)
	}
	sealed, err := s.keys.Seal(plain, id)
	return sealed, true, err
}

// resealInput is reseal for media references and metadata, which also
// seals a reference stored in clear before references were sealed.
func (s *Store) resealInput(v string, id int64, active string) (string, bool, error) {
	if !legacyClearRef(v) {
		return s.reseal(v, id, active)
	}
	sealed, err := s.keys.Seal(v, id)
	return sealed, true, err
}

func (s *Store) resealOCR(raw []byte, id int64, active string) ([]byte, bool, error) {
	if len(raw) == 0 {
		return raw, false, nil
	}
	var r pipeline.IDCardResult
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, false, fmt.Errorf("record %d: idcard_result: %w", id, err)
	}
	any := false
	for _, f := range ocrFields(&r) {
		if legacyClearOCR(*f) {
			sealed, err := s.keys.Seal(*f, id)
			if err != nil {
				return nil, false, err
			}
			*f, any = sealed, true
			continue
		}
		v, c, err := s.reseal(*f, id, active)
		if err != nil {
			return nil, false, err
		}
		*f, any = v, any || c
	}
	if !any {
		return raw, false, nil
	}
	b, err := json.Marshal(r)
	return b, true, err
}

// sealedElsewhereSQL counts records holding a value not sealed under the
// active key $1: under another key, or in clear from before a field was
// sealed (a media reference, an OCR field).
const sealedElsewhereSQL = `
	SELECT count(*) FROM records WHERE
	   (name_enc <> '' AND split_part(name_enc, ':', 1) <> $1)
	OR (id_number_enc <> '' AND split_part(id_number_enc, ':', 1) <> $1)
	OR (idcard_image1 <> '' AND split_part(idcard_image1, ':', 1) <> $1)
	OR (idcard_image2 <> '' AND split_part(idcard_image2, ':', 1) <> $1)
	OR (face_image <> '' AND split_part(face_image, ':', 1) <> $1)
	OR (video <> '' AND split_part(video, ':', 1) <> $1)
	OR (metadata_enc <> '' AND split_part(metadata_enc, ':', 1) <> $1)
	OR (idcard_result IS NOT NULL AND EXISTS (SELECT 1 FROM jsonb_each_text(idcard_result) f
	     WHERE f.value <> '' AND split_part(f.value, ':', 1) <> $1))`

// SealedElsewhere counts the records that still hold a value not sealed
// under the active key (see sealedElsewhereSQL): after Rekey it must be 0
// before an old key may be dropped. It reads the whole table.
func (s *Store) SealedElsewhere(ctx context.Context) (int, error) {
	if s.keys == nil {
		return 0, pii.ErrNoKeys
	}
	var n int
	if err := s.pool.QueryRow(ctx, sealedElsewhereSQL, s.keys.ActiveKeyID()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count values under other keys: %w", err)
	}
	return n, nil
}

// indexedElsewhereSQL counts records holding a blind index value not made
// under the current index key (its tag $1 ends every value made under it).
const indexedElsewhereSQL = `
	SELECT count(*) FROM records WHERE
	   (id_hmac IS NOT NULL AND substring(id_hmac FROM length(id_hmac) - 3) <> $1)
	OR (input_hmac IS NOT NULL AND substring(input_hmac FROM length(input_hmac) - 3) <> $1)
	OR (input_digest IS NOT NULL AND substring(input_digest FROM length(input_digest) - 3) <> $1)`

// IndexedElsewhere counts the records that still hold a blind index value
// not made under the current index key (see indexedElsewhereSQL): after
// Rekey it must be 0 before the previous index key may be retired. It
// reads the whole table.
func (s *Store) IndexedElsewhere(ctx context.Context) (int, error) {
	if s.keys == nil {
		return 0, pii.ErrNoKeys
	}
	var n int
	if err := s.pool.QueryRow(ctx, indexedElsewhereSQL, s.keys.IndexTag()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count index values under other keys: %w", err)
	}
	return n, nil
}
