package e2e_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/synth"
)

var personKey = regexp.MustCompile(`^media/p(\d{4})(.*)$`)

// Back offices name photos after people (王芳.jpg, 110101….jpg). With the
// media as file:// references under the media root, named so, a whole run
// leaves neither a name nor an id number in clear in a pg_dump of the
// database or in the logs: references are sealed at rest and masked in
// messages.
func TestMediaNamedAfterPeopleNotInDump(t *testing.T) {
	pgDump, err := exec.LookPath("pg_dump")
	if err != nil {
		t.Fatal("pg_dump not found (scripts/deps.sh installs postgresql-client)")
	}
	h := newHarness(t, ivssim.Config{Quota: 10})
	people := h.pop.People()
	rows := make([]e2e.Row, len(h.pop.Rows))
	named := 0
	for i, r := range h.pop.Rows {
		for _, f := range []*string{&r.IDCard1, &r.IDCard2, &r.FaceImage, &r.Video} {
			m := personKey.FindStringSubmatch(*f)
			if m == nil {
				continue
			}
			idx, _ := strconv.Atoi(m[1])
			p := people[idx]
			rel := filepath.Join(p.Name, p.IDNumber+m[2]) // 王芳/110101…-face.jpg
			if data, ok := h.pop.Objects[*f]; ok {
				dst := filepath.Join(h.media, rel)
				if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(dst, data, 0o644); err != nil {
					t.Fatal(err)
				}
				named++
			}
			*f = rel
		}
		rows[i] = r
	}
	if named == 0 {
		t.Fatal("no media file named after a person: the test would prove nothing")
	}
	manifest := filepath.Join(t.TempDir(), "people.csv")
	if err := os.WriteFile(manifest, e2e.CSV(rows, "file://"+h.media+"/"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum, err := ingest.Submit(h.ctx, h.st, ingest.ObjectOrFile(h.objs), manifest,
		ingest.SubmitOptions{Name: t.Name(), Logger: h.log, CheckRef: h.objs.CheckRef})
	if err != nil || sum.Valid != len(rows) {
		t.Fatalf("submit: %+v %v", sum, err)
	}
	h.startWorkers(workerOpts{n: 2})
	h.wait(sum.BatchID, 3*time.Minute)
	h.checkOutcomes(sum.BatchID)

	out, err := exec.CommandContext(h.ctx, pgDump, "--no-owner", "--dbname="+h.dbURL).Output()
	if err != nil {
		t.Fatalf("pg_dump: %v", err)
	}
	dump := string(out) + h.logBuf.String()
	if !strings.Contains(dump, "COPY public.records") || !strings.Contains(dump, "ivs call") || !strings.Contains(dump, "\tdone\t") {
		t.Fatal("the dump lacks the records or the logs; the scan would prove nothing")
	}
	noPeopleInClear(t, dump, people, "pg_dump or the logs", func(p synth.Person) []string { return []string{p.IDNumber, p.Name} })
	// Those holding the key still read the references.
	recs, err := h.st.ListRecords(h.ctx, sum.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		for _, ref := range []string{r.IDCard1, r.IDCard2, r.FaceImage, r.Video} {
			if ref != "" && !strings.HasPrefix(ref, "file://"+h.media+"/") {
				t.Fatalf("record %d: reference opens to %s", r.ID, objstore.MaskRef(ref))
			}
		}
	}
}
