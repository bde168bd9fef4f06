package api

import (
	"bufio"
	"fmt"
	"maps"
	"net/http"
	"strconv"
	"time"

	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

// Batch is a batch as the API shows it.
type Batch struct {
	ID        int64          `json:"id"`
	Name      string         `json:"name"`
	Source    string         `json:"source"`
	State     string         `json:"state,omitempty"` // in the list (ops batches' state)
	CreatedAt time.Time      `json:"created_at"`
	Total     int            `json:"total"`
	Open      int            `json:"open"`
	ByStatus  map[string]int `json:"by_status"`
}

func toBatch(b pipeline.Batch, c store.Counts) Batch {
	out := Batch{ID: b.ID, Name: b.Name, Source: b.Source, CreatedAt: b.CreatedAt, Total: c.Total, Open: c.Open(),
		ByStatus: map[string]int{}}
	for s, n := range c.ByStatus {
		out.ByStatus[string(s)] = n
	}
	return out
}

// listBatches: GET /api/v1/batches?limit=50&before=ID, newest first.
func (a *API) listBatches(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, err := intParam(q.Get("limit"), 50)
	if err != nil || limit < 1 || limit > 500 {
		server.Error(w, http.StatusBadRequest, "bad_param", "limit: want 1 to 500")
		return
	}
	before, err := intParam(q.Get("before"), 0)
	if err != nil || before < 0 {
		server.Error(w, http.StatusBadRequest, "bad_param", "before: want a batch id")
		return
	}
	list, err := a.Store.ListBatches(r.Context(), store.BatchFilter{Limit: limit, Before: int64(before)})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := struct {
		Batches []Batch `json:"batches"`
		Next    string  `json:"next,omitempty"`
	}{Batches: []Batch{}}
	for _, b := range list {
		ab := toBatch(b.Batch, b.Counts)
		ab.State = string(b.State)
		out.Batches = append(out.Batches, ab)
	}
	if len(list) == limit {
		out.Next = fmt.Sprintf("/api/v1/batches?limit=%d&before=%d", limit, list[len(list)-1].ID)
	}
	writeJSON(w, http.StatusOK, out)
}

func intParam(s string, def int) (int, error) {
	if s == "" {
		return def, nil
	}
	return strconv.Atoi(s)
}

// Status is a batch's status: what ops status shows for one batch.
type Status struct {
	Batch
	ByVerdict   map[string]int `json:"by_verdict"`
	ByError     map[string]int `json:"by_error"`
	Reused      *int           `json:"reused,omitempty"` // with full=true
	Rate        float64        `json:"rate"`
	ETASeconds  float64        `json:"eta_seconds,omitempty"`
	Budget      Budget         `json:"budget"`
	Paused      bool           `json:"account_paused"`
	PauseCode   string         `json:"pause_code,omitempty"`
	PauseReason string         `json:"pause_reason,omitempty"`
}

// Budget is a batch's cap of billed calls and its use.
type Budget struct {
	MaxBilled int  `json:"max_billed"`
	Used      int  `json:"used"`
	Billed    *int `json:"billed,omitempty"`          // a status: with full=true
	Possibly  *int `json:"possibly_billed,omitempty"` // a status: with full=true
}

func toBudget(b store.Budget, full bool) Budget {
	out := Budget{MaxBilled: b.MaxBilled, Used: b.Used}
	if full {
		out.Billed, out.Possibly = &b.Billed, &b.Possibly
	}
	return out
}

// status: GET /api/v1/batches/{id}: ops.BatchProgress, whose cost does not
// grow with the batch (polled by schedulers while it runs), or with
// full=true ops.BatchStatus as ops status shows it (billed attempts and
// reused verdicts counted: O(batch)).
func (a *API) status(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	full := r.URL.Query().Get("full") == "true"
	get := ops.BatchProgress
	if full {
		get = ops.BatchStatus
	}
	rep, err := get(r.Context(), a.Store, id)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	code, reason, paused, err := a.Store.Paused(r.Context())
	if err != nil {
		a.fail(w, r, err)
		return
	}
	b := rep.BatchStatus
	out := Status{Batch: toBatch(b.Batch, b.Counts), ByVerdict: b.VerdictCounts(), ByError: maps.Clone(b.ByError),
		Rate: b.Rate(), ETASeconds: b.ETA().Seconds(), Budget: toBudget(rep.Budget, full),
		Paused: paused, PauseCode: code, PauseReason: reason}
	if full {
		out.Reused = &rep.Reused
	}
	writeJSON(w, http.StatusOK, out)
}

// Plan is what a batch will cost (ops plan).
type Plan struct {
	BatchID         int64          `json:"batch_id"`
	Rows            int            `json:"rows"`
	Accepted        int            `json:"accepted"`
	Refused         int            `json:"refused"`
	Review          int            `json:"review"`
	Open            int            `json:"open"`
	Calls           int            `json:"calls"`
	CallsByEndpoint map[string]int `json:"calls_by_endpoint"`
	Quota           float64        `json:"quota"`
	DurationSeconds float64        `json:"duration_seconds"`
	Budget          Budget         `json:"budget"`
	BudgetCovers    bool           `json:"budget_covers"`
}

func toPlan(p ops.Plan) Plan {
	out := Plan{BatchID: p.BatchID, Rows: p.Rows, Accepted: p.Accepted, Refused: p.Refused, Review: p.Review,
		Open: p.Open, Calls: p.TotalCalls(), CallsByEndpoint: map[string]int{}, Quota: p.Quota,
		DurationSeconds: p.Duration.Seconds(),
		Budget:          toBudget(p.Budget, true)}
	for e, n := range p.Calls {
		out.CallsByEndpoint[string(e)] = n
	}
	out.BudgetCovers, _ = p.BudgetCovers()
	return out
}

// plan: GET /api/v1/batches/{id}/plan, through ops.MakePlan.
func (a *API) plan(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if _, err := a.Store.GetBatch(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := ops.MakePlan(r.Context(), a.Store, id, a.Quota)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toPlan(p))
}

// report: GET /api/v1/batches/{id}/report, the HTML report of ops report
// (audited as the caller).
func (a *API) report(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	if _, err := a.Store.GetBatch(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; img-src data:")
	bw := bufio.NewWriter(w)
	if err := ops.ReportAudited(r.Context(), a.Store, id, bw, ops.ReportOptions{Quota: a.Quota}, "api", caller(r).AuditName()); err != nil {
		a.log.Error("api: report", "batch", id, "err", err) // the status line is gone: the body ends short
		return
	}
	_ = bw.Flush()
}

// export: GET /api/v1/batches/{id}/export?format=csv|xlsx&raw=true, the
// export of ops export (masked; audited as the caller), as a download.
func (a *API) export(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r)
	if !ok {
		return
	}
	q := r.URL.Query()
	o := ops.ExportOptions{Format: q.Get("format"), Raw: q.Get("raw") == "true"}
	if o.Format == "" {
		o.Format = ops.FormatCSV
	}
	if o.Format != ops.FormatCSV && o.Format != ops.FormatXLSX || o.Raw && o.Format == ops.FormatXLSX {
		server.Error(w, http.StatusBadRequest, "bad_param", "format: csv or xlsx (raw=true with csv only)")
		return
	}
	if _, err := a.Store.GetBatch(r.Context(), id); err != nil {
		a.fail(w, r, err)
		return
	}
	ctype := "text/csv; charset=utf-8"
	if o.Format == ops.FormatXLSX {
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="batch-%d.%s"`, id, o.Format))
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := ops.ExportAudited(r.Context(), a.Store, id, bw, o, "api", caller(r).AuditName()); err != nil {
		a.log.Error("api: export", "batch", id, "err", err) // the body ends short
		return
	}
	_ = bw.Flush()
}
