// Command purge measures the retention purge on a large batch: it fills a
// fresh database with -rows finished records whose outcome is older than
// the personal data's retention (sealed-looking inputs, an OCR result, an
// error message and an attempt each) and -open records still on their way,
// prints EXPLAIN ANALYZE of the purge's queries, then runs `ops purge` (the
// shipped command) while a goroutine makes outcome-style writes on the open
// records under lock_timeout = 1s, and prints the purge's wall time and peak
// RSS, the writes' count and the slowest one. Run from the repository root:
//
//	go run ./bench/purge -rows 1000000
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/ivsbatch/ivsbatch/bench/internal/contend"
	"github.com/ivsbatch/ivsbatch/bench/internal/servers"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

func main() {
	rows := flag.Int("rows", 1_000_000, "finished records past their retention")
	open := flag.Int("open", 20_000, "records on their way (the concurrent writes finish them)")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *rows, *open); err != nil {
		fmt.Fprintln(os.Stderr, "bench/purge:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, rows, open int) error {
	dir, err := os.MkdirTemp("", "bench-purge-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+"/", "./cmd/ops")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return fmt.Errorf("go build (run from the repository root): %w", err)
	}
	url, drop, err := servers.CreateDatabase(ctx, "bench_purge")
	if err != nil {
		return err
	}
	defer drop()
	key, index := make([]byte, 32), make([]byte, 32)
	_, _ = rand.Read(key)
	_, _ = rand.Read(index)
	keys, err := pii.NewKeyring(map[string][]byte{"bench": key}, "bench", index)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, url, store.WithKeyring(keys))
	if err != nil {
		return err
	}
	defer st.Close()
	fmt.Printf("rows=%d open=%d cores=%d (shared machine)\n", rows, open, runtime.NumCPU())
	start := time.Now()
	batch, err := fill(ctx, st, rows, open)
	if err != nil {
		return err
	}
	fmt.Printf("filled batch %d in %s\n", batch, time.Since(start).Round(time.Millisecond))
	if err := explain(ctx, st); err != nil {
		return err
	}
	env := append(os.Environ(), "IVSBATCH_DATABASE_URL="+url,
		"IVSBATCH_PII_KEYS=bench:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index))
	stopWrites := make(chan struct{})
	res := contend.Start(ctx, st.Pool(), outcomeWrite, batch, true, stopWrites)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, "ops"), "purge")
	cmd.Env = env
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	start = time.Now()
	err = cmd.Run()
	wall := time.Since(start)
	close(stopWrites)
	w := <-res
	if err != nil {
		return fmt.Errorf("ops purge: %w\n%s%s", err, out.String(), stderr.String())
	}
	fmt.Printf("$ ops purge\n%s", out.String())
	rss := 0.0
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		rss = float64(ru.Maxrss) / 1024
	}
	fmt.Printf("ops purge of %d records: %s, peak RSS %.0f MB; meanwhile %d outcome writes on open records, slowest %s, error: %v\n",
		rows, wall.Round(time.Millisecond), rss, w.N, w.Worst.Round(100*time.Microsecond), w.Err)
	var left int
	if err := st.Pool().QueryRow(ctx, `SELECT count(*) FROM records WHERE purged_at IS NULL AND finished_at < now() - interval '31 days'`).
		Scan(&left); err != nil {
		return err
	}
	fmt.Printf("records past the inputs' retention left unpurged: %d\n", left)
	return nil
}

// fill stores one batch: rows records finished 40 days ago with every kind
// of personal data but pictures, then open records (queued), in id order
// after them.
func fill(ctx context.Context, st *store.Store, rows, open int) (int64, error) {
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "purge bench", ManifestSHA256: "bench-purge"})
	if err != nil {
		return 0, err
	}
	sealed := "bench:" + strings.Repeat("A", 60)
	for from := 1; from <= rows; from += 100_000 {
		to := min(from+100_000-1, rows)
		if _, err := st.Pool().Exec(ctx, `
			INSERT INTO records (batch_id, ref, line, shape, name_enc, id_number_enc, id_hmac, input_hmac, input_digest,
			       face_image, metadata_enc, status, verdict, verification_code, similarity, idcard_result,
			       last_error_message, finished_at)
			SELECT $1, 'r' || i, i, 'name_face_image', $2, $2, sha256(i::text::bytea), sha256(('in' || i)::bytea),
			       sha256(('d' || i)::bytea), $2, $2, 'done', 'valid', 1000, 0.93,
			       jsonb_build_object('sex', $2::text, 'birth', $2::text, 'address', $2::text),
			       'media at <face_image> was slow', now() - interval '40 days' + i * interval '1 ms'
			FROM generate_series($3::int, $4::int) i`, b.ID, sealed, from, to); err != nil {
			return 0, err
		}
	}
	if _, err := st.Pool().Exec(ctx, `INSERT INTO attempts (record_id, batch_id, generation, uuid, endpoint, state,
		started_at, finished_at, message, billed)
		SELECT id, batch_id, 1, 'rec-' || id, '/v2.0/ivs-standard', 'finished', finished_at, finished_at, 'said something', true
		FROM records WHERE batch_id = $1`, b.ID); err != nil {
		return 0, err
	}
	if _, err := st.Pool().Exec(ctx, `
		INSERT INTO records (batch_id, ref, line, shape, name_enc, id_number_enc, status)
		SELECT $1, 'o' || i, i, 'name', $2, $2, 'queued' FROM generate_series(1, $3::int) i`, b.ID, sealed, open); err != nil {
		return 0, err
	}
	for _, t := range []string{"records", "attempts"} {
		if _, err := st.Pool().Exec(ctx, `VACUUM ANALYZE `+t); err != nil {
			return 0, err
		}
	}
	return b.ID, nil
}

// explain prints EXPLAIN ANALYZE of a purge chunk (read, then each kind's
// UPDATE, rolled back) and of the overdue metric's look-up.
func explain(ctx context.Context, st *store.Store) error {
	fmt.Println("EXPLAIN ANALYZE of the purge's queries (first chunk of 1000, rolled back):")
	plans, err := st.ExplainPurge(ctx, 1000)
	if err != nil {
		return err
	}
	for _, p := range plans {
		fmt.Printf("-- %s\n%s\n", p.Name, idList.ReplaceAllString(p.Plan, "'{…the chunk's ids…}'"))
	}
	return nil
}

// idList is a chunk's ids as a plan prints them.
var idList = regexp.MustCompile(`'\{[0-9,]+\}'`)

// outcomeWrite writes an open record, as workers' claims and outcome
// writes do (queued ↔ in flight): contend.Start goes round the open records.
const outcomeWrite = `UPDATE records SET status = CASE WHEN status = 'queued' THEN 'in_flight' ELSE 'queued' END,
	attempts = attempts + 1, updated_at = now()
	WHERE id = (SELECT id FROM records WHERE batch_id = $1 AND status IN ('queued', 'in_flight') AND id > $2
	            ORDER BY id LIMIT 1)
	RETURNING id`
