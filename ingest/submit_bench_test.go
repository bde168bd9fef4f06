package ingest_test

import (
	"context"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/store"
)

// BenchmarkSubmit stores a 100,000-row manifest atomically (staged, then one
// commit) into a real Postgres database; rows/s is the whole submit, and
// the batch becomes visible only at the end.
func BenchmarkSubmit(b *testing.B) {
	const n = 100_000
	st, err := store.Open(b.Context(), testenv.PostgresURL(b), store.WithKeyring(testenv.Keyring(b)))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	for i := range b.N {
		open := func(context.Context, string) (io.ReadCloser, error) {
			return io.NopCloser(genManifest(n, ingest.CSV)), nil
		}
		start := time.Now()
		// A distinct name per iteration: the batch is keyed by the manifest's hash, so
		// each iteration appends one row to make the manifest new.
		sum, err := ingest.Submit(b.Context(), st, func(ctx context.Context, src string) (io.ReadCloser, error) {
			rc, _ := open(ctx, src)
			return struct {
				io.Reader
				io.Closer
			}{io.MultiReader(rc, stringsReader(fmt.Sprintf("extra%d,name,张三,%s,,\n", i, id18))), rc}, nil
		}, fmt.Sprintf("bench-%d.csv", i), ingest.SubmitOptions{})
		if err != nil || sum.Inserted != n+1 {
			b.Fatalf("submit: %+v %v", sum.Rows, err)
		}
		b.ReportMetric(float64(n)/time.Since(start).Seconds(), "rows/s")
	}
}

func stringsReader(s string) io.Reader { return &onceReader{s: s} }

type onceReader struct{ s string }

func (o *onceReader) Read(p []byte) (int, error) {
	if o.s == "" {
		return 0, io.EOF
	}
	n := copy(p, o.s)
	o.s = o.s[n:]
	return n, nil
}
