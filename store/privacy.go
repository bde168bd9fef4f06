package store

import (
	"context"
	"fmt"
	"time"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// ProcessingCounts is what the register of processing counts from the
// records: who was verified in a period, and whose face data is held now.
type ProcessingCounts struct {
	// Verified records (with an IVS verification code) finished in the
	// period, by shape, and the distinct people among them (by the blind
	// index of the id number; a record already purged counts in Records
	// but not in People).
	Records map[pipeline.Shape]int
	People  map[pipeline.Shape]int
	// FacePeople are the distinct people whose face is held now: a kept
	// liveness picture, or a face image or video reference not purged yet;
	// FaceRecords the records holding one.
	FacePeople, FaceRecords int
}

// faceShapes are the shapes whose inputs hold a face.
func faceShapes() []string {
	var out []string
	for _, s := range pipeline.Shapes {
		if s.UsesFaceImage() || s.UsesVideo() {
			out = append(out, string(s))
		}
	}
	return out
}

// ProcessingCounts counts the register's figures for outcomes in [from,
// to). Both queries read the whole table (a register is asked for monthly,
// not periodically).
func (s *Store) ProcessingCounts(ctx context.Context, from, to time.Time) (ProcessingCounts, error) {
	c := ProcessingCounts{Records: map[pipeline.Shape]int{}, People: map[pipeline.Shape]int{}}
	rows, err := s.pool.Query(ctx, `SELECT shape, count(*), count(DISTINCT id_hmac) FROM records
		WHERE finished_at >= $1 AND finished_at < $2 AND verification_code IS NOT NULL GROUP BY shape`, from, to)
	if err != nil {
		return c, fmt.Errorf("store: verified records: %w", err)
	}
	for rows.Next() {
		var shape string
		var n, people int
		if err := rows.Scan(&shape, &n, &people); err != nil {
			return c, err
		}
		c.Records[pipeline.Shape(shape)], c.People[pipeline.Shape(shape)] = n, people
	}
	if err := rows.Err(); err != nil {
		return c, fmt.Errorf("store: verified records: %w", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT count(DISTINCT id_hmac), count(*) FROM records
		WHERE picture_ref IS NOT NULL OR (purged_at IS NULL AND shape = ANY ($1))`, faceShapes()).Scan(&c.FacePeople, &c.FaceRecords)
	if err != nil {
		return c, fmt.Errorf("store: face data held: %w", err)
	}
	return c, nil
}
