package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

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
		if in.IDNumber != "" {
			// Every row holding a number, refused and review rows too: ops find
			// looks them up and ops erase finds every row of a person.
			idHMAC = s.keys.Index(indexableIDNumber(in.IDNumber))
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

// AnalyzeRecords refreshes the planner's statistics of the records columns
// the periodic and status queries filter on (ANALYZE samples a fixed number
// of rows: about 0.3 s at a million). Submit runs it after storing a batch,
// so the next status or plan is planned on the batch's rows rather than on
// statistics from before it, until autovacuum's next round.
func (s *Store) AnalyzeRecords(ctx context.Context) error {
	_, err := s.pool.Exec(ctx, `ANALYZE records (id, batch_id, status, shape, finished_at, updated_at, last_error_code)`)
	if err != nil {
		return fmt.Errorf("store: analyze records: %w", err)
	}
	return nil
}

// indexableIDNumber is an id number as its blind index is made: normalised
// when it is valid (a refused row may hold it as typed), else as given.
func indexableIDNumber(v string) string {
	if n, err := identity.NormalizeIDNumber(v); err == nil {
		return n
	}
	return v
}
