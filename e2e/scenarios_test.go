package e2e_test

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"testing"
	"time"

	"github.com/ivsbatch/ivsbatch/ivssim"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/worker"
)

// Every shape, every verdict, a row refused at enqueue and a record whose
// media is rejected before calling; two workers share the 10/s quota.
func TestEndToEndAllShapes(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10})
	batch := h.submit()
	again := h.submitSummary() // re-submitting the same manifest adds nothing
	if again.BatchID != batch || again.Created || again.Inserted != 0 {
		t.Fatalf("re-submit: %+v; want batch %d, nothing inserted", again, batch)
	}
	h.startWorkers(workerOpts{n: 2, pictures: picturesPrefix})
	h.wait(batch, 3*time.Minute)
	recs := h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	// Liveness pictures were kept in object storage, not in Postgres, under
	// names that do not give the record away, and are never media.
	kept := 0
	for _, r := range recs {
		if r.PictureRef == "" {
			continue
		}
		kept++
		if !regexp.MustCompile(`^` + regexp.QuoteMeta(picturesPrefix) + `/[0-9a-f]{32}` + regexp.QuoteMeta(worker.PictureSuffix) + `$`).MatchString(r.PictureRef) {
			t.Errorf("%s: picture kept at %s, want an unguessable name under %s", r.Ref, r.PictureRef, picturesPrefix)
		}
		rc, err := h.objs.Open(h.ctx, r.PictureRef)
		if err != nil {
			t.Fatal(err)
		}
		sealed, err := io.ReadAll(rc)
		rc.Close()
		if err != nil || bytes.Contains(sealed, []byte{0xFF, 0xD8, 0xFF}) {
			t.Errorf("%s: picture %s is stored in clear (%v)", r.Ref, r.PictureRef, err)
		}
		img, err := h.st.Keyring().OpenBytes(sealed, r.ID)
		if err != nil || len(img) < 3 || img[0] != 0xFF || img[1] != 0xD8 {
			t.Errorf("%s: picture %s is not a stored JPEG: %v", r.Ref, r.PictureRef, err)
		}
		if err := h.objs.CheckRef(r.PictureRef); !errors.Is(err, objstore.ErrBadRef) {
			t.Errorf("%s: the kept picture %s passes as a media reference: %v", r.Ref, r.PictureRef, err)
		}
	}
	if kept != 2 {
		t.Errorf("%d liveness pictures kept, want one per video verdict (2)", kept)
	}
	// The bad-media record was rejected without a call.
	for _, r := range recs {
		if r.Status == pipeline.StatusRejected && r.LastErrorCode != "id.check" {
			if n := h.sim.Ledger().BilledByUUID[r.Task().UUID()]; n != 0 {
				t.Errorf("%s: rejected locally but billed %d times", r.Ref, n)
			}
		}
	}
	if got := h.sim.Ledger().TotalBilled; got != len(h.pop.Rows)-1 {
		t.Errorf("billed %d calls, want one per sendable record (%d)", got, len(h.pop.Rows)-1)
	}
}

// 500s and 504s are retried with backoff until the verdict comes; none is billed.
func TestTransientErrorsRecover(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, Faults: ivssim.Faults{Rate500: 0.25, Rate504: 0.15}, Seed: 3})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 1, policy: func(p *pipeline.Policy) { p.MaxAttempts = 12 }})
	h.wait(batch, 3*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	l := h.sim.Ledger()
	if l.ByCode["IVS.0101"]+l.ByCode["APIG.0201"] == 0 {
		t.Fatal("no transient error was injected; the scenario tested nothing")
	}
}

// The limiter believes the quota is 10/s but the account allows 3/s: the
// burst is throttled (429), the shared limiter slows down, throttled calls
// do not use up attempts, and every record still ends correctly.
func TestThrottledBurst(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 3})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, quota: 10, policy: func(p *pipeline.Policy) { p.MaxAttempts = 2 }})
	h.wait(batch, 3*time.Minute)
	recs := h.checkOutcomes(batch)
	h.checkBilling(batch, 3)
	if h.sim.Ledger().ByCode["APIG.0308"] == 0 {
		t.Fatal("no request was throttled; the scenario tested nothing")
	}
	for _, r := range recs {
		if r.Status == pipeline.StatusDone && r.Attempts != 1 {
			t.Errorf("%s: %d attempts counted; throttled calls must not count", r.Ref, r.Attempts)
		}
	}
}

// IAM tokens expire mid-batch (short lifetime plus forced expiry): the
// client refreshes and resends, nothing is lost or billed twice.
func TestTokenExpiryMidBatch(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, TokenTTL: 24 * time.Hour, Latency: ivssim.Latency{Fixed: 50 * time.Millisecond}})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 2, password: true})
	h.waitBilled(5)
	h.sim.ExpireTokens()
	h.wait(batch, 3*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	l := h.sim.Ledger()
	if l.ByCode["APIG.0307"] == 0 || l.TokensIssued < 2 {
		t.Fatalf("expired-token answers %d, tokens issued %d: the expiry was not exercised", l.ByCode["APIG.0307"], l.TokensIssued)
	}
}

// IVS.0014 (account frozen) pauses all traffic: the pause is stored with its
// reason, no call goes out while paused, every record stays resumable, and
// after the operator resumes, the batch completes.
func TestAccountFrozenPausesThenResumes(t *testing.T) {
	h := newHarness(t, ivssim.Config{Quota: 10, Latency: ivssim.Latency{Fixed: 30 * time.Millisecond}})
	batch := h.submit()
	workers := h.startWorkers(workerOpts{n: 2})
	h.waitBilled(4)
	h.sim.SetAccountState(ivssim.CodeFrozen)
	deadline := time.Now().Add(time.Minute)
	for {
		code, reason, paused, err := h.st.Paused(h.ctx)
		if err != nil {
			t.Fatal(err)
		}
		if paused {
			if code != "IVS.0014" || reason == "" {
				t.Fatalf("paused with code %q reason %q", code, reason)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("IVS.0014 did not pause the account")
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(1500 * time.Millisecond) // calls that passed the last pause check before it was stored settle
	before := h.sim.Ledger().Requests
	time.Sleep(2 * time.Second)
	if after := h.sim.Ledger().Requests; after != before {
		t.Errorf("%d requests reached IVS while the account was paused", after-before)
	}
	counts, err := h.st.BatchCounts(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	if counts.ByStatus[pipeline.StatusFailed] != 0 || counts.Open() == 0 {
		t.Fatalf("while paused: %v; want open records and none failed", counts.ByStatus)
	}
	h.sim.SetAccountState("")
	if err := worker.Resume(h.ctx, h.st, workers[0].Redis()); err != nil {
		t.Fatal(err)
	}
	h.wait(batch, 3*time.Minute)
	h.checkOutcomes(batch)
	h.checkBilling(batch, 10)
	if h.sim.Ledger().ByCode["IVS.0014"] == 0 {
		t.Fatal("no IVS.0014 answer was seen")
	}
}

// Answers slower than the client's timeout: the call timed out after the
// request was written, so it may have been billed. The attempt says
// "possibly billed", the record is retried and ends with its verdict, and
// every uuid the ledger billed twice is one Postgres marked possibly billed.
func TestAmbiguousTimeoutsMarkedPossiblyBilled(t *testing.T) {
	// The slow answers come after 6 s; the client gives up after 3 s, which
	// leaves normal calls plenty of time even on a loaded machine.
	h := newHarness(t, ivssim.Config{Quota: 10, Faults: ivssim.Faults{RateSlow: 0.25, SlowDelay: 6 * time.Second}, Seed: 5})
	batch := h.submit()
	h.startWorkers(workerOpts{n: 1, timeout: 3 * time.Second, policy: func(p *pipeline.Policy) { p.MaxAttempts = 12 }})
	h.wait(batch, 3*time.Minute)
	h.checkOutcomes(batch)
	attempts, err := h.st.ListAttempts(h.ctx, batch)
	if err != nil {
		t.Fatal(err)
	}
	possibly := map[string]bool{}
	for _, a := range attempts {
		if a.Class == "ambiguous" {
			if !a.PossiblyBilled || a.Billed {
				t.Errorf("attempt %d timed out after sending but is stored billed=%v possibly_billed=%v", a.ID, a.Billed, a.PossiblyBilled)
			}
			possibly[a.UUID] = true
		}
	}
	if len(possibly) == 0 {
		t.Fatal("no call timed out; the scenario tested nothing")
	}
	time.Sleep(4 * time.Second) // the slow answers finish (and are billed) after the client gave up
	for uuid, n := range h.sim.Ledger().Duplicates {
		if !possibly[uuid] {
			t.Errorf("%s billed %d times without a possibly-billed attempt in Postgres", uuid, n)
		}
	}
}
