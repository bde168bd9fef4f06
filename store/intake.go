package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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
//
// Staging is a pipeline, so that reading the manifest, sealing and COPY
// overlap: Add hands a chunk over and returns; one goroutine draws the
// chunks' record ids in order (on a connection of its own), sealWorkers seal
// them in parallel, and one goroutine COPYs them, in order, on the staging
// session. At most stagingDepth chunks are in flight, which bounds memory.
type Intake struct {
	st     *Store
	conn   *pgxpool.Conn // the staging session
	idConn *pgx.Conn     // draws record ids
	staged int

	ctx    context.Context // the pipeline's; cancelled by the first failure or Close
	cancel context.CancelFunc
	toID   chan *stagedChunk // Add → id drawer, in order
	toCopy chan *stagedChunk // Add → copier, in order
	done   chan struct{}     // closed when every stage has returned
	mu     sync.Mutex
	err    error // the pipeline's first failure
	closed bool  // toID and toCopy are closed
}

// stagedChunk is one chunk of rows going through the staging pipeline.
type stagedChunk struct {
	in     []NewRecord
	ids    []int64
	rows   [][]any       // sealed, for COPY
	sealed chan struct{} // closed once rows is set
}

const (
	sealWorkers  = 2      // the machines this runs on have a few cores; sealing is the costly step
	stagingDepth = 4      // chunks queued for COPY beyond the one being copied
	idBlock      = 50_000 // record ids drawn at a time
)

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
	// A connection outside the pool (the pool may hold a single one), whose
	// transactions do not wait for their WAL to reach the disk: drawing ids
	// is all it does, and the final commit of the records, synchronous,
	// flushes the WAL written before it, sequence advances included, so no
	// stored record's id can be drawn again after a crash.
	idCfg := s.pool.Config().ConnConfig // a copy
	if idCfg.RuntimeParams == nil {
		idCfg.RuntimeParams = map[string]string{}
	}
	idCfg.RuntimeParams["synchronous_commit"] = "off"
	idConn, err := pgx.ConnectConfig(ctx, idCfg)
	if err != nil {
		in := &Intake{st: s, conn: conn}
		in.dropStaging()
		return nil, fmt.Errorf("store: intake: connect: %w", err)
	}
	in := &Intake{st: s, conn: conn, idConn: idConn, toID: make(chan *stagedChunk), toCopy: make(chan *stagedChunk, stagingDepth),
		done: make(chan struct{})}
	in.ctx, in.cancel = context.WithCancel(ctx)
	toSeal := make(chan *stagedChunk)
	var wg sync.WaitGroup
	wg.Add(2 + sealWorkers)
	go func() { defer wg.Done(); in.fail(in.drawIDs(toSeal)) }()
	for range sealWorkers {
		go func() { defer wg.Done(); in.fail(in.seal(toSeal)) }()
	}
	go func() { defer wg.Done(); in.fail(in.copy()) }()
	go func() { wg.Wait(); close(in.done) }()
	return in, nil
}

// Add stages rows (sealed as they will be stored). It takes rows over: the
// caller must not change them afterwards. A failure of staging is returned
// by a later Add or by Commit.
func (in *Intake) Add(ctx context.Context, rows []NewRecord) error {
	if len(rows) == 0 {
		return nil
	}
	c := &stagedChunk{in: rows, sealed: make(chan struct{})}
	for _, ch := range []chan *stagedChunk{in.toCopy, in.toID} {
		select {
		case ch <- c:
		case <-ctx.Done():
			in.fail(ctx.Err())
			return ctx.Err()
		case <-in.ctx.Done():
			return in.failure()
		}
	}
	in.staged += len(rows)
	return nil
}

// drawIDs draws the ids of each chunk, in the order they were added, and
// passes the chunk on to be sealed.
func (in *Intake) drawIDs(toSeal chan<- *stagedChunk) error {
	defer close(toSeal)
	var spare []int64
	for c := range in.toID {
		if len(spare) < len(c.in) {
			ids, err := drawIDs(in.ctx, in.idConn, max(idBlock, len(c.in)-len(spare)))
			if err != nil {
				return err
			}
			spare = append(spare, ids...)
		}
		c.ids, spare = spare[:len(c.in):len(c.in)], spare[len(c.in):]
		select {
		case toSeal <- c:
		case <-in.ctx.Done():
			return nil
		}
	}
	return nil
}

func (in *Intake) seal(toSeal <-chan *stagedChunk) error {
	for c := range toSeal {
		rows, err := in.st.sealInputs(0, c.in, c.ids)
		if err != nil {
			return err
		}
		c.rows, c.in = rows, nil
		close(c.sealed)
	}
	return nil
}

// copy COPYs the chunks into the staging table in the order they were added.
func (in *Intake) copy() error {
	for c := range in.toCopy {
		select {
		case <-c.sealed:
		case <-in.ctx.Done():
			return nil
		}
		if err := copyRows(in.ctx, in.conn, "intake_records", c.rows); err != nil {
			return err
		}
	}
	return nil
}

// fail records the pipeline's first failure and stops it.
func (in *Intake) fail(err error) {
	if err == nil {
		return
	}
	in.mu.Lock()
	if in.err == nil {
		in.err = err
	}
	in.mu.Unlock()
	in.cancel()
}

// failure is the pipeline's first failure, or the reason it stopped.
func (in *Intake) failure() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.err != nil {
		return in.err
	}
	return fmt.Errorf("store: intake stopped: %w", in.ctx.Err())
}

// finish lets the pipeline stage what it holds and waits for it.
func (in *Intake) finish(ctx context.Context) error {
	if !in.closed {
		in.closed = true
		close(in.toID)
		close(in.toCopy)
	}
	select {
	case <-in.done:
	case <-ctx.Done():
		in.cancel()
		<-in.done
		return ctx.Err()
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.err
}

// Commit stores the staged rows as the batch for b's manifest in one
// transaction: a new batch (created) with counts, or, when a batch already
// holds this manifest, the rows its refs lack (added is then usually 0).
// The audit entry a, when given, is written in the same transaction, with
// the batch and what was added.
func (in *Intake) Commit(ctx context.Context, b pipeline.Batch, c IntakeCounts, a *AuditEntry) (batch pipeline.Batch, created bool, added int64, err error) {
	if err := in.finish(ctx); err != nil {
		return batch, false, 0, fmt.Errorf("store: stage intake: %w", err)
	}
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
		if added > 0 && !created { // a finished batch with new rows is open again
			if _, err := tx.Exec(ctx, reopenBatchSQL, batch.ID); err != nil {
				return fmt.Errorf("re-open batch: %w", err)
			}
		}
		if _, err := tx.Exec(ctx, `TRUNCATE intake_records`); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		e := *a
		e.BatchID = batch.ID
		e.Result = map[string]any{"created": created, "added": added, "rows": c.Rows, "rows_rejected": c.Rejected, "rows_review": c.Review}
		return AuditTx(ctx, tx, e)
	})
	if err != nil {
		return batch, false, 0, fmt.Errorf("store: commit intake: %w", err)
	}
	return batch, created, added, nil
}

// Close stops staging, drops the staging table and gives the connections
// back; a connection whose table cannot be dropped is closed instead.
func (in *Intake) Close() {
	if in.conn == nil {
		return
	}
	in.cancel()
	_ = in.finish(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_ = in.idConn.Close(ctx)
	in.dropStaging()
}

// dropStaging drops the staging table and releases its connection.
func (in *Intake) dropStaging() {
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
