package e2e

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/ivsbatch/ivsbatch/synth"
)

// ManifestColumns is the manifest header, as ingest reads it.
var ManifestColumns = []string{"ref", "shape", "name", "id_number", "idcard_image1", "idcard_image2",
	"face_image", "video", "actions", "nod_threshold", "detail", "crop"}

// badRowAfter is how many good rows precede the invalid one in the manifest.
const badRowAfter = 3

// ManifestCSV renders the manifest with every media key prefixed by prefix
// ("s3://bucket/" or "file:///abs/dir/"). Unless the population is plain, an
// invalid row (an id number with a wrong check character) is placed after the
// third good row, at BadLine.
func (p *Population) ManifestCSV(prefix string) []byte {
	return writeCSV(p.Rows, prefix, func(i int, w *csv.Writer) {
		if i == badRowAfter && len(p.BadRefs) > 0 {
			_ = w.Write(p.badRow())
		}
	})
}

// BadLine is the manifest line (header = 1) of the invalid row, or 0.
func (p *Population) BadLine() int {
	if len(p.BadRefs) == 0 {
		return 0
	}
	return badRowAfter + 2
}

func (p *Population) badRow() []string {
	person := p.people[0]
	id := []byte(person.IDNumber)
	if id[17] == '0' {
		id[17] = '1'
	} else {
		id[17] = '0'
	}
	return []string{p.BadRefs[0], "name", person.Name, string(id), "", "", "", "", "", "", "", ""}
}

// Keys returns the object keys in sorted order.
func (p *Population) Keys() []string {
	keys := make([]string, 0, len(p.Objects))
	for k := range p.Objects {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// Upload stores every object with put(ctx, key, data).
func (p *Population) Upload(ctx context.Context, put func(ctx context.Context, key string, data []byte) error) error {
	for _, k := range p.Keys() {
		if err := put(ctx, k, p.Objects[k]); err != nil {
			return fmt.Errorf("upload %s: %w", k, err)
		}
	}
	return nil
}

// WriteFiles writes every object under dir (keys become relative paths).
func (p *Population) WriteFiles(dir string) error {
	for _, k := range p.Keys() {
		path := filepath.Join(dir, filepath.FromSlash(k))
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("write media: %w", err)
		}
		if err := os.WriteFile(path, p.Objects[k], 0o644); err != nil {
			return fmt.Errorf("write media: %w", err)
		}
	}
	return nil
}

// People returns the population's people (for tests that look for leaks).
func (p *Population) People() []synth.Person { return p.Registry.People() }

// CSV renders rows as a manifest with media keys prefixed by prefix.
func CSV(rows []Row, prefix string) []byte { return writeCSV(rows, prefix, nil) }

// writeCSV writes the header and rows; before(i, w) may add a row before row i.
func writeCSV(rows []Row, prefix string, before func(i int, w *csv.Writer)) []byte {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	_ = w.Write(ManifestColumns)
	ref := func(key string) string {
		if key == "" {
			return ""
		}
		return prefix + key
	}
	for i, r := range rows {
		if before != nil {
			before(i, w)
		}
		_ = w.Write([]string{r.Ref, string(r.Shape), r.Name, r.IDNumber, ref(r.IDCard1), ref(r.IDCard2),
			ref(r.FaceImage), ref(r.Video), r.Actions, "", "", ""})
	}
	w.Flush()
	return buf.Bytes()
}
