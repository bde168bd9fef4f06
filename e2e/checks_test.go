package e2e_test

import (
	"strings"

	"github.com/ivsbatch/ivsbatch/pipeline"
)

// checkOutcomes asserts every record of batch ended as the population says,
// and the row refused at enqueue is stored as rejected with its reason.
func (h *harness) checkOutcomes(batch int64) []*pipeline.Record {
	h.t.Helper()
	recs, err := h.st.ListRecords(h.ctx, batch)
	if err != nil {
		h.t.Fatal(err)
	}
	want := h.pop.Expected()
	seen := 0
	for _, r := range recs {
		if r.Ref == h.pop.BadRefs[0] {
			if r.Status != pipeline.StatusRejected || r.LastErrorCode != "id.check" || r.Line != h.pop.BadLine() {
				h.t.Errorf("bad manifest row: status %s code %q line %d; want rejected id.check line %d",
					r.Status, r.LastErrorCode, r.Line, h.pop.BadLine())
			}
			continue
		}
		exp, ok := want[r.Ref]
		if !ok {
			h.t.Errorf("unexpected record %q", r.Ref)
			continue
		}
		seen++
		if r.Status != exp.Status {
			h.t.Errorf("%s: status %s (%s %s), want %s", r.Ref, r.Status, r.LastErrorCode, r.LastErrorMessage, exp.Status)
			continue
		}
		switch {
		case exp.Reject != "":
			if !strings.HasPrefix(r.LastErrorCode, exp.Reject) {
				h.t.Errorf("%s: rejected with %q, want a %s* code", r.Ref, r.LastErrorCode, exp.Reject)
			}
		default:
			if r.Code == nil || *r.Code != exp.Code || r.Result != exp.Result {
				h.t.Errorf("%s: verdict %v %q, want %d %q", r.Ref, deref(r.Code), r.Result, exp.Code, exp.Result)
			}
			if exp.Code == 1000 && r.Shape.UsesFaceImage() && (r.Similarity == nil || *r.Similarity < 80) {
				h.t.Errorf("%s: similarity %v for a match", r.Ref, r.Similarity)
			}
			if exp.Code == 1000 && r.Shape.UsesCard() && (r.IDCardResult == nil || r.IDCardResult.Number == "") {
				h.t.Errorf("%s: no OCR result stored for a card shape", r.Ref)
			}
			if exp.Code == 1000 && r.Shape.UsesVideo() && (r.VideoAlive == nil || !*r.VideoAlive) {
				h.t.Errorf("%s: liveness not stored as alive", r.Ref)
			}
		}
	}
	if seen != len(want) {
		h.t.Errorf("found %d of %d expected records", seen, len(want))
	}
	return recs
}

// checkBilling asserts, from the simulator's ledger and the attempts table,
// that no uuid was billed twice, no one-second window went over quota, and
// Postgres accounts for every billed call.
func (h *harness) checkBilling(batch int64, quota int) {
	h.t.Helper()
	l := h.sim.Ledger()
	if len(l.Duplicates) > 0 {
		h.t.Errorf("uuids billed more than once: %v", l.Duplicates)
	}
	for ep, n := range l.MaxPerSecond {
		if n > quota {
			h.t.Errorf("%s: %d requests accepted within one second; quota %d", ep, n, quota)
		}
	}
	attempts, err := h.st.ListAttempts(h.ctx, batch)
	if err != nil {
		h.t.Fatal(err)
	}
	billed := 0
	for _, a := range attempts {
		if a.State == "in_flight" {
			h.t.Errorf("attempt %d of record %d still in flight", a.ID, a.RecordID)
		}
		if a.Billed {
			billed++
			if l.BilledByUUID[a.UUID] != 1 {
				h.t.Errorf("attempt %d (%s) stored as billed; ledger has it %d times", a.ID, a.UUID, l.BilledByUUID[a.UUID])
			}
		}
	}
	if billed != l.TotalBilled {
		h.t.Errorf("Postgres stores %d billed attempts, the ledger %d billed calls", billed, l.TotalBilled)
	}
}

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}
