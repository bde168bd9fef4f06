package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/internal/cli"
	"github.com/ivsbatch/ivsbatch/internal/config"
	"github.com/ivsbatch/ivsbatch/objstore"
)

// expectations is written next to the manifest so that report can compare.
type expectations struct {
	Records map[string]e2e.Expect `json:"records"`
	BadRefs []string              `json:"bad_refs"`
	BadLine int                   `json:"bad_line"`
}

// prepare generates the population, stores its media (S3 bucket or local
// directory), and writes registry.jsonl, manifest.csv and expected.json under
// -out. Its last output line is "manifest=<source>" for enqueue.
func prepare(ctx context.Context, args []string, out io.Writer, log *slog.Logger) error {
	fs := cli.NewFlags("demo prepare", "[-out DIR] [-media s3|file] [-records N] [-videos N]",
		`Generates the sample population (every verdict and reject kind), stores its
media in the S3 bucket (-media s3, IVSBATCH_S3_ENDPOINT) or under -out (-media
file), and writes registry.jsonl (for ivs-sim -registry), the manifest and
expected.json under -out. Its last output line is manifest=SOURCE for
"enqueue submit".`)
	dir := fs.String("out", ".run/demo", "output directory")
	bucket := fs.String("bucket", "ivsbatch-demo", "S3 bucket for media and the manifest")
	mediaTo := fs.String("media", "s3", "where media goes: s3 (IVSBATCH_S3_ENDPOINT) or file (under -out)")
	records := fs.Int("records", 27, "records without video (cycling through all verdicts)")
	videos := fs.Int("videos", 2, "video records (name_video and card_video)")
	seed := fs.Int64("seed", 1, "population seed")
	if _, err := cli.Parse(fs, args); err != nil {
		return err
	}
	if *mediaTo != "s3" && *mediaTo != "file" {
		return cli.Usagef(fs, "-media %q: want s3 or file", *mediaTo)
	}
	if *records < 0 || *videos < 0 {
		return cli.Usagef(fs, "-records and -videos must not be negative")
	}
	abs, err := filepath.Abs(*dir)
	if err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return fmt.Errorf("prepare: %w", err)
	}
	log.Info("generating population", slog.Int("records", *records), slog.Int("videos", *videos))
	pop, err := e2e.Build(ctx, e2e.Options{Seed: *seed, Records: *records, Videos: *videos})
	if err != nil {
		return err
	}
	if err := writeRegistry(pop, filepath.Join(abs, "registry.jsonl")); err != nil {
		return err
	}
	var source string
	switch *mediaTo {
	case "s3":
		source, err = storeS3(ctx, pop, *bucket, log)
	case "file":
		source, err = storeFiles(pop, abs)
	default:
		err = fmt.Errorf("prepare: -media %q: want s3 or file", *mediaTo)
	}
	if err != nil {
		return err
	}
	exp := expectations{Records: pop.Expected(), BadRefs: pop.BadRefs, BadLine: pop.BadLine()}
	if err := writeJSON(filepath.Join(abs, "expected.json"), exp); err != nil {
		return err
	}
	fmt.Fprintf(out, "records=%d objects=%d\nmanifest=%s\n", len(pop.Rows)+len(pop.BadRefs), len(pop.Objects), source)
	return nil
}

func storeS3(ctx context.Context, pop *e2e.Population, bucket string, log *slog.Logger) (string, error) {
	cfg := config.ObjStore(os.Getenv)
	st, err := objstore.New(ctx, cfg)
	if err != nil {
		return "", fmt.Errorf("object store: %w", err)
	}
	if err := st.EnsureBucket(ctx, bucket); err != nil {
		return "", fmt.Errorf("bucket %s at %s: %w", bucket, cfg.Endpoint, err)
	}
	prefix := "s3://" + bucket + "/"
	log.Info("uploading media", slog.String("bucket", bucket), slog.Int("objects", len(pop.Objects)))
	if err := pop.Upload(ctx, func(ctx context.Context, key string, data []byte) error {
		return st.Put(ctx, prefix+key, data, "")
	}); err != nil {
		return "", err
	}
	source := prefix + "manifest.csv"
	if err := st.Put(ctx, source, pop.ManifestCSV(prefix), "text/csv"); err != nil {
		return "", fmt.Errorf("upload manifest: %w", err)
	}
	return source, nil
}

func storeFiles(pop *e2e.Population, dir string) (string, error) {
	if err := pop.WriteFiles(dir); err != nil {
		return "", err
	}
	path := filepath.Join(dir, "manifest.csv")
	if err := os.WriteFile(path, pop.ManifestCSV("file://"+filepath.ToSlash(dir)+"/"), 0o644); err != nil {
		return "", fmt.Errorf("write manifest: %w", err)
	}
	return path, nil
}

func writeRegistry(pop *e2e.Population, path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write registry: %w", err)
	}
	if err := pop.Registry.Write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
