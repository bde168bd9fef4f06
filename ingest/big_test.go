package ingest_test

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"testing"

	"github.com/ivsbatch/ivsbatch/ingest"
)

// genManifest streams n rows (every 1000th refused for its id number) from
// a goroutine, so the manifest never exists in memory as a whole.
func genManifest(n int, f ingest.Format) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriter(pw)
		if f == ingest.CSV {
			fmt.Fprintln(w, "ref,shape,name,id_number,face_image,crop")
		}
		for i := range n {
			id := id18
			if i%1000 == 999 {
				id = badCheck
			}
			if f == ingest.CSV {
				fmt.Fprintf(w, "r%d,name_face_image,张三,%s,s3://media/p%d/face.jpg,true\n", i, id, i)
			} else {
				fmt.Fprintf(w, `{"ref":"r%d","name":"张三","id_number":"%s","face_image":"s3://media/p%d/face.jpg","crop":true}`+"\n", i, id, i)
			}
		}
		pw.CloseWithError(w.Flush())
	}()
	return pr
}

// TestBigManifest is not parallel: it measures the heap.
func TestBigManifest(t *testing.T) {
	const n = 200_000
	for _, f := range []ingest.Format{ingest.CSV, ingest.JSONL} {
		t.Run(string(f), func(t *testing.T) {
			var sum ingest.Summary
			var peak uint64
			var ms runtime.MemStats
			err := ingest.Parse(genManifest(n, f), f, func(r ingest.Row) error {
				sum.Add(r)
				if sum.Rows%50_000 == 0 {
					runtime.ReadMemStats(&ms)
					peak = max(peak, ms.HeapInuse)
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if sum.Rows != n || sum.Rejected != n/1000 || sum.Valid != n-n/1000 || sum.Review != 0 {
				t.Fatalf("summary %+v", sum)
			}
			// The refs kept for duplicate detection are the only per-row state.
			if peak > 256<<20 {
				t.Errorf("heap in use reached %d MiB", peak>>20)
			}
			t.Logf("%d rows, heap in use at most %d MiB", sum.Rows, peak>>20)
		})
	}
}
