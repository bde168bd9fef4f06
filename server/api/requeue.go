package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

// RequeueRequest selects records to re-queue, as ops requeue's flags do
// (the fields combine with AND; at least one is needed).
type RequeueRequest struct {
	BatchID  int64    `json:"batch_id,omitempty"`
	Statuses []string `json:"statuses,omitempty"`
	Codes    []string `json:"codes,omitempty"`
	Since    string   `json:"since,omitempty"` // RFC 3339, or a duration back from now ("12h")
	IDs      []int64  `json:"ids,omitempty"`
	Force    bool     `json:"force,omitempty"` // re-verify records with a verdict too (paid); needs reason
	Reason   string   `json:"reason,omitempty"`
}

// RequeuePreview is what a requeue would do, and what it would cost.
type RequeuePreview struct {
	ID        string     `json:"id"`
	ExpiresAt time.Time  `json:"expires_at"`
	Confirm   string     `json:"confirm"` // POST here to run it
	Result    RequeueOut `json:"result"`
	Cost      Cost       `json:"cost"`
}

// Cost is what a requeue costs: every re-queued record is a new IVS call
// (at most: identical inputs may reuse one verdict), forced ones are paid
// re-verifications of records that had a verdict.
type Cost struct {
	Calls               int     `json:"calls"`
	PaidReverifications int     `json:"paid_reverifications"`
	DurationSeconds     float64 `json:"duration_seconds"` // at the quota, on one endpoint (an upper bound)
}

// RequeueOut is a requeue's (or its dry run's) result.
type RequeueOut struct {
	Selected       int            `json:"selected"`
	Requeued       int            `json:"requeued"`
	SkippedOpen    int            `json:"skipped_open"`
	SkippedVerdict int            `json:"skipped_verdict"`
	Forced         int            `json:"forced"`
	ByCode         map[string]int `json:"by_code"`
	Sample         []RequeueRow   `json:"sample"`
}

// RequeueRow is one selected record (never personal data).
type RequeueRow struct {
	ID        int64  `json:"id"`
	Ref       string `json:"ref"`
	Status    string `json:"status"`
	Code      string `json:"code,omitempty"`
	Requeued  bool   `json:"requeued"`
	SkipCause string `json:"skip_cause,omitempty"`
}

func toRequeueOut(r store.RequeueResult) RequeueOut {
	out := RequeueOut{Selected: r.Selected, Requeued: r.Requeued, SkippedOpen: r.SkippedOpen,
		SkippedVerdict: r.SkippedVerdict, Forced: r.Forced, ByCode: map[string]int{}, Sample: []RequeueRow{}}
	for k, n := range r.ByCode {
		out.ByCode[k] = n
	}
	for _, s := range r.Sample {
		out.Sample = append(out.Sample, RequeueRow{ID: s.ID, Ref: s.Ref, Status: string(s.Status), Code: s.Code,
			Requeued: s.Requeued, SkipCause: s.SkipCause})
	}
	return out
}

// previewTTL is how long a requeue preview may be confirmed.
const previewTTL = 15 * time.Minute

// requeueOptions turns a request into ops.RequeueOptions, or says what is wrong.
func requeueOptions(q RequeueRequest, u server.User, now time.Time) (ops.RequeueOptions, error) {
	f := store.RequeueFilter{BatchID: q.BatchID, Codes: q.Codes, IDs: q.IDs}
	for _, s := range q.Statuses {
		switch st := pipeline.Status(s); st {
		case pipeline.StatusPending, pipeline.StatusQueued, pipeline.StatusInFlight, pipeline.StatusDone,
			pipeline.StatusRejected, pipeline.StatusFailed, pipeline.StatusReview:
			f.Statuses = append(f.Statuses, st)
		default:
			return ops.RequeueOptions{}, fmt.Errorf("status %q: want pending, queued, in_flight, done, rejected, failed or review", s)
		}
	}
	var err error
	if f.Since, err = ops.ParseSince(q.Since, now); err != nil {
		return ops.RequeueOptions{}, err
	}
	if f.BatchID == 0 && len(f.Statuses) == 0 && len(f.Codes) == 0 && f.Since.IsZero() && len(f.IDs) == 0 {
		return ops.RequeueOptions{}, errors.New("give at least one of batch_id, statuses, codes, since, ids")
	}
	if q.Force && q.Reason == "" {
		return ops.RequeueOptions{}, errors.New("force needs a reason (a paid re-verification)")
	}
	args, _ := json.Marshal(q)
	var m map[string]any
	_ = json.Unmarshal(args, &m)
	m["via"] = "api"
	return ops.RequeueOptions{Filter: f, Force: q.Force, Reason: q.Reason, Operator: u.AuditName(), Sample: 20, Args: m}, nil
}

// previewRequeue: POST /api/v1/requeues, a dry run of ops requeue whose
// count and cost the caller confirms with POST /api/v1/requeues/{id}/confirm
// within 15 minutes.
func (a *API) previewRequeue(w http.ResponseWriter, r *http.Request) {
	var q RequeueRequest
	if !decodeJSON(w, r, &q) {
		return
	}
	u := caller(r)
	o, err := requeueOptions(q, u, time.Now())
	if err != nil {
		server.Error(w, http.StatusBadRequest, "bad_requeue", err.Error())
		return
	}
	o.DryRun = true
	res, err := ops.Requeue(r.Context(), a.Store, o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	body, _ := json.Marshal(q)
	p := store.RequeuePreview{ID: auth.NewSecret()[:22], Principal: u.Principal(), Request: body,
		Selected: res.Selected, Requeue: res.Requeued, Forced: res.Forced, ExpiresAt: time.Now().Add(previewTTL)}
	if err := a.Store.CreateRequeuePreview(r.Context(), p); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, RequeuePreview{ID: p.ID, ExpiresAt: p.ExpiresAt,
		Confirm: "/api/v1/requeues/" + p.ID + "/confirm", Result: toRequeueOut(res), Cost: a.cost(res)})
}

func (a *API) cost(r store.RequeueResult) Cost {
	c := Cost{Calls: r.Requeued, PaidReverifications: r.Forced}
	if a.Quota > 0 {
		c.DurationSeconds = math.Ceil(float64(r.Requeued) / a.Quota)
	}
	return c
}

// confirmRequeue: POST /api/v1/requeues/{id}/confirm runs a previewed
// requeue, once, by the caller who previewed it. When the selection grew
// since the preview (more records, or more paid re-verifications) nothing
// is re-queued and the caller previews again (409).
func (a *API) confirmRequeue(w http.ResponseWriter, r *http.Request) {
	u := caller(r)
	p, err := a.Store.ConfirmRequeuePreview(r.Context(), r.PathValue("id"), u.Principal())
	if errors.Is(err, pipeline.ErrNotFound) {
		server.Error(w, http.StatusNotFound, "not_found", "no such requeue preview of yours, or it expired or was confirmed before")
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	var q RequeueRequest
	if err := json.Unmarshal(p.Request, &q); err != nil {
		a.fail(w, r, err)
		return
	}
	o, err := requeueOptions(q, u, time.Now())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	o.DryRun = true
	again, err := ops.Requeue(r.Context(), a.Store, o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	if again.Requeued > p.Requeue || again.Forced > p.Forced {
		server.Error(w, http.StatusConflict, "requeue.changed",
			"the selection grew since the preview (more records or more paid re-verifications): preview again")
		return
	}
	o.DryRun = false
	res, err := ops.Requeue(r.Context(), a.Store, o)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Result RequeueOut `json:"result"`
		Cost   Cost       `json:"cost"`
	}{toRequeueOut(res), a.cost(res)})
}
