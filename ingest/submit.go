package ingest

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/schollz/progressbar/v3"

	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// SubmitOptions tune Submit. Zero values take defaults.
type SubmitOptions struct {
	Name      string    // batch name (default: the source)
	Format    Format    // default: DetectFormat
	ChunkRows int       // rows per COPY (default 5000)
	Progress  io.Writer // where a progress bar is drawn; nil for none
	MaxBad    int       // how many bad rows Summary.Bad keeps (default 100)
	Logger    *slog.Logger
}

// Opener opens a manifest source (a local path or an object reference).
type Opener func(ctx context.Context, src string) (io.ReadCloser, error)

// Submit reads the manifest at src, validates every row, and stores it as a
// batch: valid rows pending (the feeder hands them to the queue), refused
// rows rejected or review with their reason. The manifest's SHA-256 names
// the batch, and rows are keyed by ref, so submitting the same manifest
// again adds nothing. Memory stays bounded: the manifest is spooled to a
// temporary file, then streamed in chunks.
func Submit(ctx context.Context, st *store.Store, open Opener, src string, opts SubmitOptions) (Summary, error) {
	if opts.ChunkRows == 0 {
		opts.ChunkRows = 5000
	}
	if opts.MaxBad == 0 {
		opts.MaxBad = 100
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	spool, sum, size, err := spoolManifest(ctx, open, src)
	if err != nil {
		return Summary{}, err
	}
	defer os.Remove(spool.Name())
	defer spool.Close()

	head := make([]byte, 512)
	n, _ := spool.ReadAt(head, 0)
	format := opts.Format
	if format == "" {
		format = DetectFormat(src, head[:n])
	}
	batch, created, err := st.CreateBatch(ctx, pipeline.Batch{Name: cmp.Or(opts.Name, src), Source: src, ManifestSHA256: sum})
	if err != nil {
		return Summary{}, err
	}
	s := Summary{BatchID: batch.ID, Created: created}
	log.Info("submitting manifest", "batch", batch.ID, "new", created, "format", string(format), "bytes", size)

	var r io.Reader = spool
	if opts.Progress != nil {
		bar := progressbar.NewOptions64(size, progressbar.OptionSetWriter(opts.Progress),
			progressbar.OptionSetDescription("manifest"), progressbar.OptionShowBytes(true),
			progressbar.OptionThrottle(200_000_000), progressbar.OptionClearOnFinish())
		defer bar.Finish()
		pr := progressbar.NewReader(spool, bar)
		r = &pr
	}
	chunk := make([]store.NewRecord, 0, opts.ChunkRows)
	flush := func() error {
		if len(chunk) == 0 {
			return nil
		}
		added, err := st.InsertInputs(ctx, batch.ID, chunk)
		if err != nil {
			return err
		}
		s.Inserted += int(added)
		chunk = chunk[:0]
		return nil
	}
	err = Parse(r, format, func(row Row) error {
		s.Add(row)
		rec := ToNewRecord(row)
		if row.Err != nil && len(s.Bad) < opts.MaxBad {
			s.Bad = append(s.Bad, row.Err)
		}
		chunk = append(chunk, rec)
		if len(chunk) >= opts.ChunkRows {
			return flush()
		}
		return ctx.Err()
	})
	if err == nil {
		err = flush()
	}
	if err != nil {
		return s, fmt.Errorf("ingest: %s: %w", src, err)
	}
	if err := st.SetBatchRowCounts(ctx, batch.ID, s.Rows, s.Rejected+s.Review); err != nil {
		return s, err
	}
	return s, nil
}

// spoolManifest copies src to a temporary file, hashing it on the way.
func spoolManifest(ctx context.Context, open Opener, src string) (*os.File, string, int64, error) {
	rc, err := open(ctx, src)
	if err != nil {
		return nil, "", 0, fmt.Errorf("ingest: open manifest %s: %w", src, err)
	}
	defer rc.Close()
	f, err := os.CreateTemp("", "ivsbatch-manifest-*")
	if err != nil {
		return nil, "", 0, fmt.Errorf("ingest: spool manifest: %w", err)
	}
	h := sha256.New()
	size, err := io.Copy(io.MultiWriter(f, h), rc)
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", 0, fmt.Errorf("ingest: read manifest %s: %w", src, err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, "", 0, fmt.Errorf("ingest: spool manifest: %w", err)
	}
	return f, hex.EncodeToString(h.Sum(nil)), size, nil
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
