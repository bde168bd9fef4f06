package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// SubmitOptions tune Submit. Zero values take defaults.
type SubmitOptions struct {
	Name      string    // batch name (default: the source)
	Format    Format    // default: DetectFormat
	Encoding  string    // text encoding (default: detected, see Decode)
	Sheet     string    // xlsx: the sheet to read (default: the first)
	ChunkRows int       // rows per COPY (default 5000; fewer when they exceed chunkBytes)
	Progress  io.Writer // where a progress bar is drawn; nil for none
	MaxBad    int       // how many bad rows Summary.Bad keeps (default 100, at most 10,000)
	Limits    Limits    // what a manifest may hold (zero fields: DefaultLimits)
	Logger    *slog.Logger
	// CheckRef applies the media policy to every media reference of a valid
	// row (objstore.Store.CheckRef: file:// under the media root, allowed
	// buckets); a refused reference refuses the row (input.media_ref). Nil
	// refuses every file:// reference.
	CheckRef func(ref string) error
	// Operator is who submits, for the audit row written with the batch
	// (command "submit"; the database adds its login). Empty: "unknown".
	Operator string
}

// Opener opens a manifest source (a local path or an object reference).
type Opener func(ctx context.Context, src string) (io.ReadCloser, error)

// ErrNoRows refuses a manifest with a header (or nothing) but no data row.
var ErrNoRows = errors.New("the manifest has no data rows: nothing stored")

// Submit reads the manifest at src, validates every row, and stores it as a
// batch: valid rows pending (the feeder hands them to the queue), refused
// rows rejected or review with their reason. The store is atomic: rows are
// staged out of sight and the batch appears, with all its records, only
// once the whole manifest is read; a manifest refused as a whole (no
// manifest column, no data row, unreadable), a failure or a cancelled
// context leaves no batch and no record. The manifest's SHA-256 names the
// batch and rows are keyed by ref, so submitting the same manifest again
// adds nothing. The manifest is streamed, never copied to disk; memory stays
// bounded (an .xlsx workbook is held in memory).
func Submit(ctx context.Context, st *store.Store, open Opener, src string, opts SubmitOptions) (Summary, error) {
	opts.ChunkRows = cmp.Or(opts.ChunkRows, 5000)
	opts.MaxBad = min(cmp.Or(opts.MaxBad, 100), 10_000)
	log := cmp.Or(opts.Logger, slog.Default())
	rc, err := open(ctx, src)
	if err != nil {
		return Summary{}, fmt.Errorf("ingest: open manifest %s: %w", src, err)
	}
	defer rc.Close()
	h := sha256.New()
	var r io.Reader = io.TeeReader(rc, h)
	if opts.Progress != nil {
		bar := progressbar.NewOptions64(localSize(src), progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetDescription("manifest"), progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(200_000_000), progressbar.OptionClearOnFinish())
		defer bar.Finish()
		pr := progressbar.NewReader(r, bar)
		r = &pr
	}
	intake, err := st.BeginIntake(ctx)
	if err != nil {
		return Summary{}, err
	}
	defer intake.Close()

	var s Summary
	chunk, chunkSize := make([]store.NewRecord, 0, opts.ChunkRows), 0
	flush := func() error {
		err := intake.Add(ctx, chunk) // Add keeps the chunk
		chunk, chunkSize = make([]store.NewRecord, 0, opts.ChunkRows), 0
		return err
	}
	info, err := ParseWith(r, ReadOptions{Name: src, Format: opts.Format, Encoding: opts.Encoding, Sheet: opts.Sheet,
		Limits: opts.Limits},
		func(row Row) error {
			checkMedia(&row, opts.CheckRef)
			s.Add(row)
			if row.Err != nil && len(s.Bad) < opts.MaxBad {
				s.Bad = append(s.Bad, row.Err)
			}
			rec := ToNewRecord(row)
			chunk, chunkSize = append(chunk, rec), chunkSize+recordSize(rec)
			if len(chunk) >= opts.ChunkRows || chunkSize >= chunkBytes {
				return flush()
			}
			return ctx.Err()
		})
	s.Info = info
	if err == nil {
		err = flush()
	}
	if err == nil && s.Rows == 0 {
		err = ErrNoRows
	}
	if err == nil {
		_, err = io.Copy(io.Discard, r) // the rest (trailing bytes) belongs to the hash too
	}
	if err != nil {
		return s, fmt.Errorf("ingest: %s: %w", src, err)
	}
	batch, created, added, err := intake.Commit(ctx,
		pipeline.Batch{Name: cmp.Or(opts.Name, src), Source: src, ManifestSHA256: hex.EncodeToString(h.Sum(nil))},
		store.IntakeCounts{Rows: s.Rows, Rejected: s.Rejected, Review: s.Review},
		&store.AuditEntry{Operator: opts.Operator, Command: "submit",
			Args: map[string]any{"source": src, "name": opts.Name, "format": string(info.Format), "encoding": info.Encoding}})
	if err != nil {
		return s, fmt.Errorf("ingest: %s: %w", src, err)
	}
	s.BatchID, s.Created, s.Inserted = batch.ID, created, int(added)
	if added > 0 {
		if err := st.AnalyzeRecords(ctx); err != nil { // the batch is stored: only the planner's numbers are stale
			log.Warn("manifest stored, statistics not refreshed", "batch", batch.ID, "err", err)
		}
	}
	log.Info("manifest stored", "batch", batch.ID, "new", created, "format", string(info.Format),
		"encoding", info.Encoding, "rows", s.Rows, "added", added)
	return s, nil
}

// chunkBytes bounds the text of a chunk of rows: the staging pipeline holds
// a few chunks at once (store.Intake), so rows near the limits cannot make
// it hold hundreds of megabytes. 5,000 ordinary rows take about a megabyte.
const chunkBytes = 2 << 20

// recordSize is about what a record's text takes in memory.
func recordSize(r store.NewRecord) int {
	return len(r.Ref) + len(r.Name) + len(r.IDNumber) + len(r.IDCard1) + len(r.IDCard2) + len(r.FaceImage) +
		len(r.Video) + len(r.Actions) + len(r.Metadata) + len(r.ErrorMessage) + 256
}

// checkMedia refuses a valid row whose media reference the policy refuses.
func checkMedia(row *Row, check func(string) error) {
	if row.Err != nil {
		return
	}
	if check == nil {
		check = refuseFile
	}
	in := row.Input
	for _, m := range []struct{ field, ref string }{
		{"idcard_image1", in.IDCard1}, {"idcard_image2", in.IDCard2}, {"face_image", in.FaceImage}, {"video", in.Video},
	} {
		if m.ref == "" {
			continue
		}
		if err := check(m.ref); err != nil {
			// objstore's reasons never repeat the reference.
			reason := strings.TrimPrefix(err.Error(), objstore.ErrBadRef.Error()+": ")
			row.Err = &RowError{Line: row.Line, Field: m.field, Code: CodeMediaRef, Reason: reason}
			return
		}
	}
}

func refuseFile(ref string) error {
	if strings.HasPrefix(ref, "file://") {
		return fmt.Errorf("file:// references are refused: no media root is configured (%s)", objstore.EnvMediaRoot)
	}
	return nil
}

// localSize is the size of a local manifest, -1 when unknown (objects).
func localSize(src string) int64 {
	if strings.Contains(src, "://") {
		return -1
	}
	fi, err := os.Stat(src)
	if err != nil {
		return -1
	}
	return fi.Size()
}

// ObjectOrFile opens s3:// and file:// references with objs and anything
// else as a local path.
func ObjectOrFile(objs interface {
	Open(ctx context.Context, ref string) (io.ReadCloser, error)
}) Opener {
	return func(ctx context.Context, src string) (io.ReadCloser, error) {
		if strings.HasPrefix(src, "s3://") || strings.HasPrefix(src, "file://") {
			return objs.Open(ctx, src)
		}
		return os.Open(src)
	}
}
