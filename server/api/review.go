package api

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/internal/i18n"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

// Record is a record as the API shows it: where it is and its outcome,
// personal data masked (as ops find and ops review print it).
type Record struct {
	ID             int64     `json:"id"`
	BatchID        int64     `json:"batch_id"`
	Ref            string    `json:"ref"`
	Line           int       `json:"line"`
	Status         string    `json:"status"`
	Verdict        string    `json:"verdict,omitempty"` // "3001 nonexistent"
	Why            string    `json:"why,omitempty"`     // the verification code, else the error or review code
	Explanation    string    `json:"explanation,omitempty"`
	NameMasked     string    `json:"name_masked"`
	IDNumberMasked string    `json:"id_number_masked"`
	FinishedAt     *string   `json:"finished_at,omitempty"`
	Decision       *Decision `json:"review_decision,omitempty"` // the latest one
}

// Decision is a stored review decision.
type Decision struct {
	Decision      string    `json:"decision"`
	Reason        string    `json:"reason"`
	Operator      string    `json:"operator"`
	DBUser        string    `json:"db_user"`
	NameCorrected bool      `json:"name_corrected"`
	DecidedAt     time.Time `json:"decided_at"`
}

func toRecord(f ops.Found) Record {
	out := Record{ID: f.ID, BatchID: f.BatchID, Ref: f.Ref, Line: f.Line, Status: string(f.Status), Verdict: f.Verdict,
		Why: f.Why, Explanation: explainWhy(f), NameMasked: f.NameMasked, IDNumberMasked: f.IDMasked}
	if f.FinishedAt != nil {
		s := f.FinishedAt.UTC().Format(time.RFC3339)
		out.FinishedAt = &s
	}
	if d := f.Decision; d != nil {
		out.Decision = &Decision{Decision: string(d.Decision), Reason: d.Reason, Operator: d.Operator, DBUser: d.DBUser,
			NameCorrected: d.NameCorrected, DecidedAt: d.DecidedAt}
	}
	return out
}

// explainWhy explains a record's outcome in English (the catalogue's).
func explainWhy(f ops.Found) string {
	switch {
	case f.Verdict != "":
		var c int
		if _, err := fmt.Sscanf(f.Why, "%d", &c); err == nil {
			return i18n.English.Verdict(c)
		}
	case f.Why != "":
		return i18n.English.Code(f.Why)
	}
	return f.Meaning
}

// maxRef bounds a ref in a query (intake keeps refs far shorter).
const maxRef = 256

// findRecords: GET /api/v1/records?ref=REF&limit=20, a ref looked up
// across batches, newest first (ops find -ref).
func (a *API) findRecords(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ref := strings.TrimSpace(q.Get("ref"))
	if ref == "" || len(ref) > maxRef {
		server.Error(w, http.StatusBadRequest, "bad_param", fmt.Sprintf("ref: want 1 to %d bytes", maxRef))
		return
	}
	limit, err := intParam(q.Get("limit"), 20)
	if err != nil || limit < 1 || limit > 100 {
		server.Error(w, http.StatusBadRequest, "bad_param", "limit: want 1 to 100")
		return
	}
	found, err := ops.Find(r.Context(), a.Store, ops.FindOptions{Ref: ref, Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Records []Record `json:"records"`
	}{Records: []Record{}}
	for _, f := range found {
		out.Records = append(out.Records, toRecord(f))
	}
	writeJSON(w, http.StatusOK, out)
}

// ReviewQueue is the review queue (ops review): a page of cases and every
// case's count by why it is in review.
type ReviewQueue struct {
	Cases []Record       `json:"cases"`
	ByWhy map[string]int `json:"by_why"`
	Total int            `json:"total"`
	Next  string         `json:"next,omitempty"`
}

// reviewQueue: GET /api/v1/review?batch_id=ID&after=ID&limit=50, the cases
// in review, oldest first.
func (a *API) reviewQueue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	batch, err := intParam(q.Get("batch_id"), 0)
	if err != nil || batch < 0 {
		server.Error(w, http.StatusBadRequest, "bad_param", "batch_id: want a batch id")
		return
	}
	after, err := intParam(q.Get("after"), 0)
	if err != nil || after < 0 {
		server.Error(w, http.StatusBadRequest, "bad_param", "after: want a record id")
		return
	}
	limit, err := intParam(q.Get("limit"), 50)
	if err != nil || limit < 1 || limit > 500 {
		server.Error(w, http.StatusBadRequest, "bad_param", "limit: want 1 to 500")
		return
	}
	rq, err := ops.Review(r.Context(), a.Store, store.ReviewFilter{BatchID: int64(batch), After: int64(after), Limit: limit})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := ReviewQueue{Cases: []Record{}, ByWhy: rq.ByWhy}
	if out.ByWhy == nil {
		out.ByWhy = map[string]int{}
	}
	for _, n := range rq.ByWhy {
		out.Total += n
	}
	for _, f := range rq.Cases {
		out.Cases = append(out.Cases, toRecord(f))
	}
	if len(rq.Cases) == limit {
		out.Next = fmt.Sprintf("/api/v1/review?batch_id=%d&after=%d&limit=%d", batch, rq.Cases[limit-1].ID, limit)
	}
	writeJSON(w, http.StatusOK, out)
}

// DecideRequest is a reviewer's decision on review cases, named by record
// id or by ref (as ops review -decide's -ref; batch_id says which batch
// when a ref is in review in several).
type DecideRequest struct {
	Decision      string   `json:"decision"` // approve, reject or reverify
	Reason        string   `json:"reason"`
	RecordIDs     []int64  `json:"record_ids,omitempty"`
	Refs          []string `json:"refs,omitempty"`
	BatchID       int64    `json:"batch_id,omitempty"`
	CorrectedName string   `json:"corrected_name,omitempty"` // reverify only: the name as the authority stores it
}

// Decided is what a decision did.
type Decided struct {
	Decided             []DecidedRecord     `json:"decided"`
	NotInReview         []int64             `json:"not_in_review"`
	NotFound            []string            `json:"not_found,omitempty"`
	NotCase             map[string][]string `json:"not_case,omitempty"`
	PaidReverifications int                 `json:"paid_reverifications"`
}

// DecidedRecord is a record decided on, with its new status.
type DecidedRecord struct {
	ID      int64  `json:"id"`
	BatchID int64  `json:"batch_id"`
	Status  string `json:"status"`
}

// maxDecided bounds the records of one decision (a re-verification is one
// paid call each, as ops requeue -force's -max-forced).
const maxDecided = store.MaxForcedIDs

// decide: POST /api/v1/review/decisions records a decision through the
// function ops review -decide calls, in one transaction with its decision
// rows and audit row, the caller as the operator.
func (a *API) decide(w http.ResponseWriter, r *http.Request) {
	var q DecideRequest
	if !decodeJSON(w, r, &q) {
		return
	}
	switch {
	case (len(q.RecordIDs) == 0) == (len(q.Refs) == 0):
		server.Error(w, http.StatusBadRequest, "bad_decision", "give record_ids or refs (one of them)")
		return
	case len(q.RecordIDs)+len(q.Refs) > maxDecided:
		server.Error(w, http.StatusBadRequest, "bad_decision", fmt.Sprintf("at most %d records per decision", maxDecided))
		return
	case len(q.RecordIDs) > 0 && q.BatchID != 0:
		server.Error(w, http.StatusBadRequest, "bad_decision", "batch_id goes with refs")
		return
	case len(q.CorrectedName) > 200:
		server.Error(w, http.StatusBadRequest, "bad_decision", "corrected_name: too long")
		return
	}
	for _, ref := range q.Refs {
		if ref == "" || len(ref) > maxRef {
			server.Error(w, http.StatusBadRequest, "bad_decision", fmt.Sprintf("refs: want 1 to %d bytes each", maxRef))
			return
		}
	}
	o := ops.DecideOptions{BatchID: q.BatchID, Refs: q.Refs, Decision: pipeline.ReviewDecision(q.Decision),
		Reason: q.Reason, CorrectedName: q.CorrectedName, Operator: caller(r).AuditName()}
	var (
		rep ops.DecideReport
		err error
	)
	if len(q.RecordIDs) > 0 {
		rep.DecisionResult, err = ops.DecideRecords(r.Context(), a.Store, slices.Compact(slices.Sorted(slices.Values(q.RecordIDs))), o)
	} else {
		rep, err = ops.Decide(r.Context(), a.Store, o)
	}
	switch {
	case errors.Is(err, ops.ErrAmbiguousRef):
		server.Error(w, http.StatusConflict, "review.ambiguous_ref", err.Error())
		return
	case errors.Is(err, ops.ErrInvalidDecision):
		server.Error(w, http.StatusBadRequest, "bad_decision", err.Error())
		return
	case err != nil:
		a.fail(w, r, err)
		return
	}
	out := Decided{Decided: []DecidedRecord{}, NotInReview: rep.NotInCase, NotFound: rep.NotFound,
		PaidReverifications: rep.Reverified}
	if out.NotInReview == nil {
		out.NotInReview = []int64{}
	}
	if len(rep.NotCase) > 0 {
		out.NotCase = maps.Clone(rep.NotCase)
	}
	for _, d := range rep.Decided {
		out.Decided = append(out.Decided, DecidedRecord{ID: d.ID, BatchID: d.BatchID, Status: string(d.Status)})
	}
	a.log.Info("api review decision", "caller", caller(r).AuditName(), "decision", q.Decision,
		"decided", len(out.Decided), "paid_reverifications", out.PaidReverifications)
	writeJSON(w, http.StatusOK, out)
}
