package store

import (
	"context"
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
// The blind-index key is not rotated by Rekey.
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

func (s *Store) rekeyChunk(ctx context.Context, active string, after int64, chunk int) (changed int, last int64, err error) {
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, name_enc, id_number_enc, idcard_result,
			idcard_image1, idcard_image2, face_image, video, metadata_enc FROM records
			WHERE id > $1 ORDER BY id LIMIT $2 FOR UPDATE`, after, chunk)
		if err != nil {
			return err
		}
		type row struct {
			id           int64
			name, number string
			ocr          []byte
			inputs       [5]string // media references and metadata
		}
		var todo []row
		for rows.Next() {
			var r row
			if err := rows.Scan(&r.id, &r.name, &r.number, &r.ocr, &r.inputs[0], &r.inputs[1], &r.inputs[2],
				&r.inputs[3], &r.inputs[4]); err != nil {
				rows.Close()
				return err
			}
			last = r.id
			todo = append(todo, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, r := range todo {
			name, c1, err := s.reseal(r.name, r.id, active)
			if err != nil {
				return err
			}
			number, c2, err := s.reseal(r.number, r.id, active)
			if err != nil {
				return err
			}
			ocr, c3, err := s.resealOCR(r.ocr, r.id, active)
			if err != nil {
				return err
			}
			c4 := false
			for i, v := range r.inputs {
				sealed, c, err := s.resealInput(v, r.id, active)
				if err != nil {
					return err
				}
				r.inputs[i], c4 = sealed, c4 || c
			}
			if !c1 && !c2 && !c3 && !c4 {
				continue
			}
			if _, err := tx.Exec(ctx, `UPDATE records SET name_enc = $2, id_number_enc = $3, idcard_result = $4,
				idcard_image1 = $5, idcard_image2 = $6, face_image = $7, video = $8, metadata_enc = $9 WHERE id = $1`,
				r.id, name, number, ocr, r.inputs[0], r.inputs[1], r.inputs[2], r.inputs[3], r.inputs[4]); err != nil {
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
	for _, f := range []*string{&r.Name, &r.Number, &r.Address} {
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
