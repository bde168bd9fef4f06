package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

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

// SetBatchRowCounts records how many manifest rows there were and how many
// were rejected at enqueue.
func (s *Store) SetBatchRowCounts(ctx context.Context, id int64, total, rejected int) error {
	_, err := s.pool.Exec(ctx, `UPDATE batches SET rows_total = $2, rows_rejected = $3 WHERE id = $1`, id, total, rejected)
	if err != nil {
		return fmt.Errorf("store: batch %d row counts: %w", id, err)
	}
	return nil
}

var inputColumns = []string{"id", "batch_id", "ref", "line", "shape", "name_enc", "id_number_enc", "id_hmac", "input_hmac",
	"idcard_image1", "idcard_image2", "face_image", "video", "actions", "nod_threshold", "detail", "crop", "status",
	"last_error_code", "last_error_message", "finished_at", "metadata_enc"}

// NewRecord is a manifest row to store: a valid input goes in as pending; a
// row refused at enqueue goes in as rejected (or review) with its reason, so
// nothing is lost and every row has a stored outcome.
type NewRecord struct {
	pipeline.Input
	Status       pipeline.Status // "" means pending
	ErrorCode    string
	ErrorMessage string
}

// InsertInputs stores rows of a batch with COPY into a staging table, then
// inserts those whose ref the batch does not have yet, so re-submitting a
// manifest adds nothing. It returns how many records were added.
func (s *Store) InsertInputs(ctx context.Context, batchID int64, inputs []NewRecord) (int64, error) {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return 0, fmt.Errorf("store: insert inputs: %w", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE staging_records (LIKE records INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return 0, fmt.Errorf("store: staging table: %w", err)
	}
	if err := s.copyInputs(ctx, tx, "staging_records", batchID, inputs); err != nil {
		return 0, err
	}
	tag, err := tx.Exec(ctx, `
		INSERT INTO records (`+strings.Join(inputColumns, ", ")+`)
		SELECT `+strings.Join(inputColumns, ", ")+`
		FROM staging_records ORDER BY line
		ON CONFLICT (batch_id, ref) DO NOTHING`)
	if err != nil {
		return 0, fmt.Errorf("store: insert inputs: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return 0, fmt.Errorf("store: commit inputs: %w", err)
	}
	return tag.RowsAffected(), nil
}

// copier is what copyInputs needs of a connection or transaction.
type copier interface {
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	CopyFrom(ctx context.Context, table pgx.Identifier, columns []string, src pgx.CopyFromSource) (int64, error)
}

// copyInputs draws record ids, seals every row's personal fields and COPYs
// the rows into table (see sealInputs).
func (s *Store) copyInputs(ctx context.Context, q copier, table string, batchID int64, inputs []NewRecord) error {
	ids, err := drawIDs(ctx, q, len(inputs))
	if err != nil {
		return err
	}
	rows, err := s.sealInputs(batchID, inputs, ids)
	if err != nil {
		return err
	}
	return copyRows(ctx, q, table, rows)
}

// drawIDs draws n record ids. Ids are drawn before the rows are stored: the
// record id is the associated data of its sealed personal fields. Ids of
// rows never stored are simply unused.
func drawIDs(ctx context.Context, q copier, n int) ([]int64, error) {
	idRows, err := q.Query(ctx, `SELECT nextval(pg_get_serial_sequence('records', 'id')) FROM generate_series(1, $1)`, n)
	if err != nil {
		return nil, fmt.Errorf("store: allocate record ids: %w", err)
	}
	ids, err := pgx.CollectRows(idRows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("store: allocate record ids: %w", err)
	}
	return ids, nil
}

// sealInputs makes the rows to COPY (inputColumns) of inputs with ids:
// every row's personal fields (name, id number, media references, metadata)
// sealed with its id as associated data, and its blind indexes. It uses no
// connection and is safe for concurrent use.
func (s *Store) sealInputs(batchID int64, inputs []NewRecord, ids []int64) ([][]any, error) {
	rows := make([][]any, len(inputs))
	now := time.Now()
	var err error
	for i, in := range inputs {
		status, finished := pipeline.StatusPending, (*time.Time)(nil)
		if in.Status != "" && in.Status != pipeline.StatusPending {
			status, finished = in.Status, &now
		}
		sealed := []string{in.Name, in.IDNumber, in.IDCard1, in.IDCard2, in.FaceImage, in.Video, in.Metadata}
		for j, v := range sealed {
			if sealed[j], err = s.keys.Seal(v, ids[i]); err != nil {
				return nil, fmt.Errorf("store: seal personal data of line %d: %w", in.Line, err)
			}
		}
		var idHMAC, inputHMAC []byte
		if status == pipeline.StatusPending && in.Shape.UsesText() {
			idHMAC = s.keys.Index(in.IDNumber)
		}
		if status == pipeline.StatusPending {
			inputHMAC = s.keys.Index(string(in.Shape), in.IDNumber, in.Name, in.IDCard1, in.IDCard2, in.FaceImage,
				in.Video, in.Actions)
		}
		rows[i] = []any{ids[i], batchID, in.Ref, in.Line, string(in.Shape), sealed[0], sealed[1], idHMAC, inputHMAC,
			sealed[2], sealed[3], sealed[4], sealed[5], in.Actions, in.NodThreshold, in.Detail, in.Crop,
			string(status), nullIfEmpty(in.ErrorCode), nullIfEmpty(in.ErrorMessage), finished, sealed[6]}
	}
	return rows, nil
}

// copyRows COPYs rows made by sealInputs into table.
func copyRows(ctx context.Context, q copier, table string, rows [][]any) error {
	if _, err := q.CopyFrom(ctx, pgx.Identifier{table}, inputColumns, pgx.CopyFromRows(rows)); err != nil {
		return fmt.Errorf("store: copy inputs: %w", err)
	}
	return nil
}

func nullIfEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
