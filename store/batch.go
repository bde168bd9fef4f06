package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// CreateBatch stores a batch for a manifest, or returns the batch that
// already holds the manifest with the same sha256 (created = false).
func (s *Store) CreateBatch(ctx context.Context, b pipeline.Batch) (batch pipeline.Batch, created bool, err error) {
	row := s.pool.QueryRow(ctx, `
		INSERT INTO batches (name, source, manifest_sha256) VALUES ($1, $2, $3)
		ON CONFLICT (manifest_sha256) DO NOTHING
		RETURNING id, name, source, manifest_sha256, created_at`, b.Name, b.Source, b.ManifestSHA256)
	err = row.Scan(batchFields(&batch)...)
	if err == nil {
		return batch, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return batch, false, fmt.Errorf("store: create batch: %w", err)
	}
	err = s.pool.QueryRow(ctx, `SELECT id, name, source, manifest_sha256, created_at FROM batches WHERE manifest_sha256 = $1`,
		b.ManifestSHA256).Scan(batchFields(&batch)...)
	if err != nil {
		return batch, false, fmt.Errorf("store: find batch by manifest: %w", err)
	}
	return batch, false, nil
}

// GetBatch returns batch id.
func (s *Store) GetBatch(ctx context.Context, id int64) (pipeline.Batch, error) {
	var b pipeline.Batch
	err := s.pool.QueryRow(ctx, getBatchSQL, id).Scan(batchFields(&b)...)
	if errors.Is(err, pgx.ErrNoRows) {
		return b, fmt.Errorf("store: batch %d: %w", id, pipeline.ErrNotFound)
	}
	if err != nil {
		return b, fmt.Errorf("store: get batch %d: %w", id, err)
	}
	return b, nil
}

const getBatchSQL = `SELECT id, name, source, manifest_sha256, created_at FROM batches WHERE id = $1`

// batchFields are the scan targets of a batch read as id, name, source,
// manifest_sha256, created_at.
func batchFields(b *pipeline.Batch) []any {
	return []any{&b.ID, &b.Name, &b.Source, &b.ManifestSHA256, &b.CreatedAt}
}
