package e2e_test

import (
	"strings"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/e2e"
	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/synth"
)

// After a batch runs end to end, no table and no log line holds an id
// number or a name in clear: they are sealed at rest and masked in output.
func TestNoPlaintextPersonalData(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	sum := h.submitSummary()
	h.startWorkers(workerOpts{n: 2})
	h.wait(sum.BatchID, 3*time.Minute)
	h.checkOutcomes(sum.BatchID)

	// Everything an operator or an attacker with a dump could read.
	var dump strings.Builder
	for _, table := range []string{"batches", "records", "attempts", "account_state"} {
		rows, err := h.st.Pool().Query(h.ctx, "SELECT row_to_json(t)::text FROM "+table+" t")
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var line string
			if err := rows.Scan(&line); err != nil {
				t.Fatal(err)
			}
			dump.WriteString(line + "\n")
		}
		rows.Close()
	}
	for _, b := range sum.Bad { // what enqueue prints about refused rows
		dump.WriteString(b.Error() + "\n")
	}
	dump.WriteString(h.logBuf.String()) // the workers' and the enqueuer's logs
	text := dump.String()
	if !strings.Contains(text, "ivs call") || !strings.Contains(text, `"status":"done"`) {
		t.Fatal("the dump does not contain the logs and records it should; the scan would prove nothing")
	}
	noPeopleInClear(t, text, h.pop.People(), "the tables or logs", func(p synth.Person) []string {
		return []string{p.IDNumber, p.Name, p.Address}
	})
	// And the store still gives the data back to those holding the key.
	recs, err := h.st.ListRecords(h.ctx, sum.BatchID)
	if err != nil {
		t.Fatal(err)
	}
	opened := 0
	for _, r := range recs {
		if r.Shape.UsesText() && r.Status == pipeline.StatusDone {
			if _, err := identity.NormalizeIDNumber(r.IDNumber); err != nil {
				t.Fatalf("record %d: id number does not open to a valid number: %v", r.ID, err)
			}
			opened++
		}
		if r.IDCardResult != nil && r.IDCardResult.Number != "" {
			if _, err := identity.NormalizeIDNumber(r.IDCardResult.Number); err != nil {
				t.Fatalf("record %d: OCR number does not open: %v", r.ID, err)
			}
		}
	}
	if opened == 0 {
		t.Fatal("no text record to open")
	}
	// The liveness picture (a face) is not kept unless configured.
	for _, r := range recs {
		if r.PictureRef != "" {
			t.Errorf("record %d kept a liveness picture without IVSBATCH_KEEP_PICTURES", r.ID)
		}
	}
}

// A manifest that repeats people pays one call per person: repeats of the
// same input wait for and reuse the first outcome, and a person verified
// valid earlier (another batch, same shape) is reused within the window.
// Every record still shows its outcome.
func TestDedupOneBilledCallPerPerson(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	var base []e2e.Row
	for _, r := range h.pop.Rows {
		if r.Shape.UsesText() && r.Expect.Status != pipeline.StatusRejected && len(base) < 8 {
			base = append(base, r)
		}
	}
	var rows []e2e.Row
	for copyN := range 3 {
		for _, r := range base {
			r.Ref = r.Ref + "-copy" + string(rune('a'+copyN))
			rows = append(rows, r)
		}
	}
	first := h.submitRows(rows, "first.csv")
	h.startWorkers(workerOpts{n: 2})
	h.wait(first, 3*time.Minute)
	l := h.sim.Ledger()
	if len(l.Duplicates) != 0 || l.TotalBilled != len(base) {
		t.Fatalf("billed %d calls (duplicates %v) for %d people repeated 3 times; want one per person",
			l.TotalBilled, l.Duplicates, len(base))
	}
	recs, err := h.st.ListRecords(h.ctx, first)
	if err != nil {
		t.Fatal(err)
	}
	want := h.pop.Expected()
	linked := 0
	for _, r := range recs {
		exp := want[strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(r.Ref, "-copya"), "-copyb"), "-copyc")]
		if r.Status != exp.Status || r.Code == nil || *r.Code != exp.Code {
			t.Errorf("%s: %s %v, want %s %d", r.Ref, r.Status, deref(r.Code), exp.Status, exp.Code)
		}
		if r.LinkedRecordID != nil {
			linked++
		}
	}
	if linked != 2*len(base) {
		t.Errorf("%d records linked to an earlier outcome, want %d", linked, 2*len(base))
	}

	// A second batch with the same inputs: verdicts that depend only on the
	// inputs (1000, 2001, 2002, 2003) are reused; those that depend on the
	// authority's changing records (3001, 2006) are paid for again.
	var again []e2e.Row
	valid := 0
	for _, r := range base {
		r.Ref += "-later"
		again = append(again, r)
		if pipeline.VerdictRuleOf(r.Expect.Code).Reusable {
			valid++
		}
	}
	before := h.sim.Ledger().TotalBilled
	second := h.submitRows(again, "second.csv")
	h.wait(second, 3*time.Minute)
	if got, want := h.sim.Ledger().TotalBilled-before, len(base)-valid; got != want {
		t.Errorf("second batch billed %d calls; want %d (only the inputs without a reusable verdict)", got, want)
	}
}

// submitRows uploads rows as a manifest and submits it; every row must be valid.
func (h *harness) submitRows(rows []e2e.Row, name string) int64 {
	h.t.Helper()
	src := h.ref("manifests/" + name)
	if err := h.objs.Put(h.ctx, src, e2e.CSV(rows, "s3://"+bucket+"/"), "text/csv"); err != nil {
		h.t.Fatal(err)
	}
	sum, err := ingest.Submit(h.ctx, h.st, h.objs.Open, src, ingest.SubmitOptions{Name: name, Logger: h.log,
		CheckRef: h.objs.CheckRef})
	if err != nil {
		h.t.Fatal(err)
	}
	if sum.Valid != len(rows) {
		h.t.Fatalf("submit %s: %+v", name, sum)
	}
	return sum.BatchID
}

// noPeopleInClear fails t when text holds in clear any of the secrets of
// people that secrets lists (the 15-character form of each id number is
// looked for too); where says what text is.
func noPeopleInClear(t *testing.T, text string, people []synth.Person, where string, secrets func(synth.Person) []string) {
	t.Helper()
	leaks := 0
	for _, p := range people {
		id15 := p.IDNumber[:6] + p.IDNumber[8:17]
		for _, secret := range append(secrets(p), id15) {
			if strings.Contains(text, secret) {
				leaks++
				if leaks <= 5 {
					t.Errorf("person %d: %s found in clear in %s", p.Index, identity.MaskName(secret), where)
				}
			}
		}
	}
}
