package e2e_test

import (
	"context"
	"encoding/base64"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/internal/testenv"
	"github.com/ivsbatch/ivsbatch/ivs"
	"github.com/ivsbatch/ivsbatch/pii"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

// hostile holds what a terminal would obey: an OSC window title, a screen
// clear, the 8-bit CSI (U+009B) and a right-to-left override (U+202E),
// with the escaped forms sink.Terminal prints instead.
var hostile = []struct{ raw, escaped string }{
	{"\x1b]0;x\x07", `\x1b]0;x\x07`},
	{"\x1b[2J", `\x1b[2J`},
	{"\u009b31m", `\u009b31m`},
	{"\u202egpj.exe", `\u202egpj.exe`},
}

// Refs, a batch name and a pause reason holding terminal controls (stored
// before intake refused them, or by an older version) are printed escaped
// by the shipped commands that show them: ops status, prevalidate, requeue
// and reconcile, enqueue status, and an error message.
func TestTerminalOutputEscaped(t *testing.T) {
	bin := t.TempDir()
	build := exec.Command("go", "build", "-o", bin+"/", "./cmd/enqueue", "./cmd/ops")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	key, index := make([]byte, 32), make([]byte, 32)
	for i := range key {
		key[i], index[i] = byte(i), byte(100+i)
	}
	kr, err := pii.NewKeyring(map[string][]byte{"sink": key}, "sink", index)
	if err != nil {
		t.Fatal(err)
	}
	dbURL := testenv.PostgresURL(t)
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, store.WithKeyring(kr))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var name strings.Builder
	for _, h := range hostile {
		name.WriteString(h.raw)
	}
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "batch" + name.String(), ManifestSHA256: t.Name()})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.NewRecord
	for i, h := range hostile {
		// The face image's bucket is on no allow-list: prevalidate rejects
		// every record without asking S3, and lists their refs.
		rows = append(rows, store.NewRecord{Input: pipeline.Input{Ref: "r" + h.raw, Line: i + 2, Shape: ivs.ShapeNameFaceImage,
			Name: "张伟", IDNumber: "11010119900307803X", FaceImage: "s3://media/face.jpg"}})
	}
	if _, err := st.InsertInputs(ctx, b.ID, rows); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPaused(ctx, "IVS.0014", "frozen"+name.String()); err != nil {
		t.Fatal(err)
	}
	env := append(cleanEnv(), "IVSBATCH_DATABASE_URL="+dbURL, "IVSBATCH_REDIS_ADDR="+testenv.Redis(t),
		"IVSBATCH_PII_KEYS=sink:"+base64.StdEncoding.EncodeToString(key),
		"IVSBATCH_PII_INDEX_KEY="+base64.StdEncoding.EncodeToString(index))
	batch := strconv.FormatInt(b.ID, 10)
	for _, c := range []struct {
		args []string
		code int
		want int // how many of hostile must appear escaped
	}{
		{[]string{"ops", "status", "-batch", batch}, 0, len(hostile)},
		{[]string{"ops", "prevalidate", "-batch", batch}, 0, len(hostile)},
		{[]string{"ops", "requeue", "-batch", batch, "-dry-run"}, 0, len(hostile)},
		{[]string{"ops", "reconcile"}, 3, len(hostile)},
		{[]string{"enqueue", "status", "-batch", batch}, 0, len(hostile)},
		{[]string{"enqueue", "submit", "/no/such/dir/manifest" + name.String() + ".csv"}, 1, len(hostile)},
	} {
		r := runCmd(t, bin, env, c.args...)
		out := r.stdout + r.stderr
		if r.code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s", c.args[:2], r.code, c.code, out)
		}
		for _, raw := range []string{"\x1b", "\x07", "\u009b", "\u202e"} {
			if strings.Contains(out, raw) {
				t.Errorf("%s printed %q raw:\n%q", c.args[:2], raw, out)
			}
		}
		n := 0
		for _, h := range hostile {
			if strings.Contains(out, h.escaped) {
				n++
			}
		}
		if n < c.want {
			t.Errorf("%s: %d of the %d hostile strings printed escaped, want %d:\n%s", c.args[:2], n, len(hostile), c.want, out)
		}
	}
}
