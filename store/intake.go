package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// Intake stores a manifest atomically: its rows are staged in a temporary
// table of one Postgres session, invisible to workers and to status, and
// become a batch only in Commit's single transaction. A submit that is
// refused, cancelled or killed before Commit leaves nothing behind (the
// session's temporary table goes with it). An Intake is not safe for
// concurrent use; Close it on every path.
type Intake struct {
	st     *Store
	conn   *pgxpool.Conn
	staged int
}

// IntakeCounts are a manifest's row counts stored on its batch.
type IntakeCounts struct {
	Rows, Rejected, Review int
}

// BeginIntake starts staging a manifest.
func (s *Store) BeginIntake(ctx context.Context) (*Intake, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("store: intake: %w", err)
	}
	if _, err := conn.Exec(ctx, `CREATE TEMP TABLE intake_records (LIKE records INCLUDING DEFAULTS)`); err != nil {
		conn.Release()
		return nil, fmt.Errorf("store: intake staging table: %w", err)
	}
	return &Intake{st: s, conn: conn}, nil
}

// Add stages rows (sealed as they will be stored).
func (in *Intake) Add(ctx context.Context, rows []NewRecord) error {
	if len(rows) == 0 {
		return nil
	}
	if err := in.st.copyInputs(ctx, in.conn, "intake_records", 0, rows); err != nil {
		return err
	}
	in.staged += len(rows)
	return nil
}

// Commit stores the staged rows as the batch for b's manifest in one
// transaction: a new batch (created) with counts, or, when a batch already
// holds this manifest, the rows its refs lack (added is then usually 0).
func (in *Intake) Commit(ctx context.Context, b pipeline.Batch, c IntakeCounts) (batch pipeline.Batch, created bool, added int64, err error) {
	err = pgx.BeginFunc(ctx, in.conn, func(tx pgx.Tx) error {
		row := tx.QueryRow(ctx, `
			INSERT INTO batches (name, source, manifest_sha256, rows_total, rows_rejected, rows_review)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (manifest_sha256) DO NOTHING
			RETURNING id, name, source, manifest_sha256, created_at`,
			b.Name, b.Source, b.ManifestSHA256, c.Rows, c.Rejected+c.Review, c.Review)
		err := row.Scan(&batch.ID, &batch.Name, &batch.Source, &batch.ManifestSHA256, &batch.CreatedAt)
		created = err == nil
		if errors.Is(err, pgx.ErrNoRows) {
			err = tx.QueryRow(ctx, `SELECT id, name, source, manifest_sha256, created_at FROM batches
				WHERE manifest_sha256 = $1 FOR UPDATE`, b.ManifestSHA256).
				Scan(&batch.ID, &batch.Name, &batch.Source, &batch.ManifestSHA256, &batch.CreatedAt)
		}
		if err != nil {
			return fmt.Errorf("batch: %w", err)
		}
		sel := make([]string, len(inputColumns))
		for i, c := range inputColumns {
			sel[i] = c
			if c == "batch_id" {
				sel[i] = "$1::bigint"
			}
		}
		// A new batch has no records yet, and Parse made refs unique: no
		// conflict to look for. Rows are in manifest order as staged.
		insert := `INSERT INTO records (` + strings.Join(inputColumns, ", ") + `)
			SELECT ` + strings.Join(sel, ", ") + ` FROM intake_records`
		if !created {
			insert += ` ON CONFLICT (batch_id, ref) DO NOTHING`
		}
		tag, err := tx.Exec(ctx, insert, batch.ID)
		if err != nil {
			return fmt.Errorf("records: %w", err)
		}
		added = tag.RowsAffected()
		_, err = tx.Exec(ctx, `TRUNCATE intake_records`)
		return err
	})
	if err != nil {
		return batch, false, 0, fmt.Errorf("store: commit intake: %w", err)
	}
	return batch, created, added, nil
}

// Close drops the staging table and gives the connection back; a
// connection whose table cannot be dropped is closed instead.
func (in *Intake) Close() {
	if in.conn == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := in.conn.Exec(ctx, `DROP TABLE IF EXISTS intake_records`); err != nil {
		_ = in.conn.Hijack().Close(ctx)
		in.conn = nil
		return
	}
	in.conn.Release()
	in.conn = nil
}

// Database names the database the store writes to ("dbname on host:port"),
// without user or password.
func (s *Store) Database() string {
	c := s.pool.Config().ConnConfig
	return fmt.Sprintf("%s on %s:%d", c.Database, c.Host, c.Port)
}
