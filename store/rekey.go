package store

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pii"
)

// Rekey re-seals every personal field that is not under the keyring's
// active key (after a new key was added and made active). It reads chunks of
// chunk records by id without locks, re-seals in memory, and writes each
// chunk back in one short statement that changes a record only if its sealed
// fields are still those it read (compare and set), so it can run while
// workers run, never holds a lock across a chunk and never waits on a
// record a worker is writing: a record changed meanwhile is picked up by the
// next pass. It can be resumed after an interruption, and returns how many
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
	for pass := 0; ; pass++ {
		conflicts := 0
		var after int64
		for {
			n, c, last, err := s.rekeyChunk(ctx, active, after, chunk)
			changed += n
			conflicts += c
			if err != nil {
				return changed, err
			}
			if last == 0 {
				break
			}
			after = last
		}
		if conflicts == 0 {
			return changed, nil
		}
		if pass == 10 {
			return changed, fmt.Errorf("store: rekey: %d records kept changing under it; run rekey again", conflicts)
		}
	}
}

func (s *Store) rekeyChunk(ctx context.Context, active string, after int64, chunk int) (changed, conflicts int, last int64, err error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name_enc, id_number_enc, idcard_result FROM records
		WHERE id > $1 ORDER BY id LIMIT $2`, after, chunk)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("store: rekey records after %d: %w", after, err)
	}
	type row struct {
		id           int64
		name, number string
		ocr          []byte
	}
	todo, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (row, error) {
		var x row
		err := r.Scan(&x.id, &x.name, &x.number, &x.ocr)
		return x, err
	})
	if err != nil {
		return 0, 0, 0, fmt.Errorf("store: rekey records after %d: %w", after, err)
	}
	if len(todo) == 0 {
		return 0, 0, 0, nil
	}
	last = todo[len(todo)-1].id
	var ids []int64
	var oldName, oldNumber, newName, newNumber []string
	var oldOCR, newOCR []*string
	for _, r := range todo {
		name, c1, err := s.reseal(r.name, r.id, active)
		if err != nil {
			return 0, 0, 0, err
		}
		number, c2, err := s.reseal(r.number, r.id, active)
		if err != nil {
			return 0, 0, 0, err
		}
		ocr, c3, err := s.resealOCR(r.ocr, r.id, active)
		if err != nil {
			return 0, 0, 0, err
		}
		if !c1 && !c2 && !c3 {
			continue
		}
		ids = append(ids, r.id)
		oldName, newName = append(oldName, r.name), append(newName, name)
		oldNumber, newNumber = append(oldNumber, r.number), append(newNumber, number)
		oldOCR, newOCR = append(oldOCR, textOrNil(r.ocr)), append(newOCR, textOrNil(ocr))
	}
	if len(ids) == 0 {
		return 0, 0, last, nil
	}
	tag, err := s.pool.Exec(ctx, `
		UPDATE records r SET name_enc = u.new_name, id_number_enc = u.new_number, idcard_result = u.new_ocr::jsonb
		FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
		     AS u (id, old_name, old_number, old_ocr, new_name, new_number, new_ocr)
		WHERE r.id = u.id AND r.name_enc = u.old_name AND r.id_number_enc = u.old_number
		  AND r.idcard_result IS NOT DISTINCT FROM u.old_ocr::jsonb`,
		ids, oldName, oldNumber, oldOCR, newName, newNumber, newOCR)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("store: rekey records after %d: %w", after, err)
	}
	n := int(tag.RowsAffected())
	return n, len(ids) - n, last, nil
}

func textOrNil(b []byte) *string {
	if b == nil {
		return nil
	}
	s := string(b)
	return &s
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

func (s *Store) resealOCR(raw []byte, id int64, active string) ([]byte, bool, error) {
	if len(raw) == 0 {
		return raw, false, nil
	}
	var r ivs.IDCardResult
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
