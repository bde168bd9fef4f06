package console

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
)

const pageSize = 50

// failedStatuses are the final statuses without a verdict that a failure
// list and a requeue by reason select.
var failedStatuses = []pipeline.Status{pipeline.StatusFailed, pipeline.StatusRejected}

// ---- batches ----

type batchRow struct {
	ID       int64
	Name     string
	State    pipeline.BatchState
	Created  time.Time
	Total    int
	Open     int
	Done     int // final
	ByStatus []statusCount
}

type statusCount struct {
	Status pipeline.Status
	N      int
}

type batchesData struct {
	Batches []batchRow
	Older   int64 // the id to page from; 0: no older page
}

func (d batchesData) refresh() bool {
	for _, b := range d.Batches {
		if b.Open > 0 {
			return true
		}
	}
	return false
}

func byStatus(c store.Counts) []statusCount {
	var out []statusCount
	for _, s := range pipeline.StatusDisplayOrder {
		if n := c.ByStatus[s]; n > 0 {
			out = append(out, statusCount{s, n})
		}
	}
	return out
}

func (c *Console) batches(q *req) error {
	before, _ := strconv.ParseInt(q.r.URL.Query().Get("before"), 10, 64)
	list, err := c.cfg.Store.ListBatches(q.r.Context(), store.BatchFilter{Limit: pageSize + 1, Before: before})
	if err != nil {
		return err
	}
	var d batchesData
	if len(list) > pageSize {
		list = list[:pageSize]
		d.Older = list[pageSize-1].ID
	}
	for _, b := range list {
		open := b.Counts.Open()
		d.Batches = append(d.Batches, batchRow{ID: b.ID, Name: shown(b.Name), State: b.State, Created: b.CreatedAt,
			Total: b.Counts.Total, Open: open, Done: b.Counts.Total - open, ByStatus: byStatus(b.Counts)})
	}
	c.render(q, http.StatusOK, "batches", d)
	return nil
}

// ---- one batch ----

type codeCount struct {
	Code    string // as stored, for links and forms
	Shown   string
	Explain string // what the code means (internal/i18n)
	N       int
}

type batchData struct {
	ID        int64
	Name      string
	Source    string
	Created   time.Time
	Total     int
	Open      int
	Done      int
	Rate      float64
	ETA       string
	ByStatus  []statusCount
	Verdicts  []codeCount
	Failures  []codeCount
	Review    int
	Charts    template.HTML
	Submitted string // a message after an upload or a requeue
}

func (d batchData) refresh() bool { return d.Open > 0 }

func (c *Console) batchID(q *req) (int64, error) {
	id, err := strconv.ParseInt(q.r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		return 0, notFound()
	}
	return id, nil
}

// batchStatus reads a batch's status; a batch that does not exist is a 404.
func (c *Console) batchStatus(ctx context.Context, id int64) (store.BatchStatus, error) {
	bs, err := c.cfg.Store.GetBatchStatus(ctx, id)
	if errors.Is(err, pipeline.ErrNotFound) {
		return bs, notFound()
	}
	return bs, err
}

func (c *Console) batch(q *req) error {
	id, err := c.batchID(q)
	if err != nil {
		return err
	}
	ctx := q.r.Context()
	bs, err := c.batchStatus(ctx, id)
	if err != nil {
		return err
	}
	open := bs.Counts.Open()
	d := batchData{ID: id, Name: shown(bs.Batch.Name), Source: shown(bs.Batch.Source), Created: bs.Batch.CreatedAt,
		Total: bs.Counts.Total, Open: open, Done: bs.Counts.Total - open, Rate: bs.Rate(), ByStatus: byStatus(bs.Counts),
		Review: bs.Counts.ByStatus[pipeline.StatusReview]}
	// The charts read every record and attempt of the batch: drawn once it
	// is finished, and on request (/charts) while it runs, so that a page
	// refreshing every 5 s costs the count deltas only, whatever the size.
	if open == 0 {
		k := keyOf(id, q.lang, bs.Counts)
		var ok bool
		if d.Charts, ok = c.chartCache.get(k); !ok {
			if d.Charts, err = ops.ReportCharts(ctx, c.cfg.Store, id, ops.ReportOptions{Quota: c.cfg.Quota, Lang: q.lang}); err != nil {
				return err
			}
			c.chartCache.put(k, d.Charts)
		}
	}
	if eta := bs.ETA(); eta > 0 {
		d.ETA = eta.Round(time.Second).String()
	}
	keys := slices.SortedFunc(maps.Keys(bs.ByVerdict), store.VerdictKey.Compare)
	for _, k := range keys {
		d.Verdicts = append(d.Verdicts, codeCount{Shown: shown(strconv.Itoa(k.Code) + " " + q.lang.Result(k.Verdict)),
			Explain: q.lang.Verdict(k.Code), N: bs.ByVerdict[k]})
	}
	for _, k := range slices.Sorted(maps.Keys(bs.ByError)) {
		cc := codeCount{Code: k, Shown: shown(cmp.Or(k, "-")), N: bs.ByError[k]}
		if k != "" {
			cc.Explain = shown(q.lang.Code(k))
		}
		d.Failures = append(d.Failures, cc)
	}
	qs := q.r.URL.Query()
	switch {
	case qs.Has("added"):
		n, _ := strconv.Atoi(qs.Get("added"))
		if n == 0 {
			d.Submitted = text(q.lang, "flash.already")
		} else {
			d.Submitted = fmt.Sprintf(text(q.lang, "flash.submitted"), n)
		}
	case qs.Has("requeued"):
		n, _ := strconv.Atoi(qs.Get("requeued"))
		d.Submitted = fmt.Sprintf(text(q.lang, "flash.requeued"), n)
	}
	c.render(q, http.StatusOK, "batch", d)
	return nil
}

// charts draws the report's charts of a batch, finished or not (its page
// links here while it runs).
func (c *Console) charts(q *req) error {
	id, err := c.batchID(q)
	if err != nil {
		return err
	}
	ctx := q.r.Context()
	bs, err := c.batchStatus(ctx, id)
	if err != nil {
		return err
	}
	charts, err := ops.ReportCharts(ctx, c.cfg.Store, id, ops.ReportOptions{Quota: c.cfg.Quota, Lang: q.lang})
	if err != nil {
		return err
	}
	c.render(q, http.StatusOK, "charts", batchData{ID: id, Name: shown(bs.Batch.Name), Charts: charts})
	return nil
}

// ---- a batch's records (failures by reason) ----

type recordsData struct {
	BatchID int64
	Status  pipeline.Status
	Code    string
	Shown   string
	Records []recordView
	Next    string // the next page's URL; "" when none
}

func (c *Console) records(q *req) error {
	id, err := c.batchID(q)
	if err != nil {
		return err
	}
	qs := q.r.URL.Query()
	st := pipeline.Status(qs.Get("status"))
	statuses := []pipeline.Status{st}
	if st == "" || st == "failed" {
		st, statuses = pipeline.StatusFailed, failedStatuses
	} else if !slices.Contains(pipeline.StatusDisplayOrder, st) {
		return badRequest(fmt.Errorf("status %q", shown(string(st))))
	}
	after, _ := strconv.ParseInt(qs.Get("after"), 10, 64)
	code := qs.Get("code")
	if _, err := c.batchStatus(q.r.Context(), id); err != nil {
		return err
	}
	recs, err := c.cfg.Store.BatchRecords(q.r.Context(), store.RecordFilter{BatchID: id, Statuses: statuses, Code: code,
		AfterID: after, Limit: pageSize + 1})
	if err != nil {
		return err
	}
	d := recordsData{BatchID: id, Status: st, Code: code, Shown: shown(cmp.Or(code, string(st)))}
	if len(recs) > pageSize {
		recs = recs[:pageSize]
		v := url.Values{"status": {string(st)}, "code": {code}, "after": {strconv.FormatInt(recs[pageSize-1].ID, 10)}}
		d.Next = fmt.Sprintf("/batches/%d/records?%s", id, v.Encode())
	}
	for _, r := range recs {
		d.Records = append(d.Records, viewRecord(r))
	}
	c.render(q, http.StatusOK, "records", d)
	return nil
}

// ---- requeue: preview, then confirm ----

type requeueData struct {
	BatchID                           int64
	Code, Shown                       string
	Selected, Would, SkippedOpen, Had int
	WorstCalls                        int
	Sample                            []store.RequeueRow
}

// requeueFilter is the selection of a requeue form: the batch's failed and
// rejected records with one last error code.
func (c *Console) requeueFilter(q *req) (store.RequeueFilter, string, error) {
	id, err := c.batchID(q)
	if err != nil {
		return store.RequeueFilter{}, "", err
	}
	code := q.r.PostFormValue("code")
	if code == "" {
		return store.RequeueFilter{}, "", badRequest(errors.New("no code"))
	}
	if _, err := c.batchStatus(q.r.Context(), id); err != nil {
		return store.RequeueFilter{}, "", err
	}
	return store.RequeueFilter{BatchID: id, Statuses: failedStatuses, Codes: []string{code}}, code, nil
}

func (c *Console) requeueArgs(q *req, f store.RequeueFilter) map[string]any {
	return map[string]any{"batch": f.BatchID, "status": f.Statuses, "code": f.Codes, "via": "console"}
}

func (c *Console) requeuePreview(q *req) error {
	f, code, err := c.requeueFilter(q)
	if err != nil {
		return err
	}
	res, err := ops.Requeue(q.r.Context(), c.cfg.Store, ops.RequeueOptions{Filter: f, DryRun: true,
		Operator: q.user.Name, Sample: 10, Args: c.requeueArgs(q, f)})
	if err != nil {
		return err
	}
	d := requeueData{BatchID: f.BatchID, Code: code, Shown: shown(code), Selected: res.Selected, Would: res.Requeued,
		SkippedOpen: res.SkippedOpen, Had: res.SkippedVerdict, WorstCalls: res.Requeued * c.cfg.MaxAttempts}
	for _, s := range res.Sample {
		s.Ref, s.Code = shown(s.Ref), shown(s.Code)
		d.Sample = append(d.Sample, s)
	}
	c.render(q, http.StatusOK, "requeue", d)
	return nil
}

func (c *Console) requeue(q *req) error {
	f, _, err := c.requeueFilter(q)
	if err != nil {
		return err
	}
	res, err := ops.Requeue(q.r.Context(), c.cfg.Store, ops.RequeueOptions{Filter: f, Operator: q.user.Name,
		Args: c.requeueArgs(q, f)})
	if err != nil {
		return err
	}
	c.log.Info("console requeue", "user", q.user.Name, "batch", f.BatchID, "requeued", res.Requeued)
	http.Redirect(q.w, q.r, fmt.Sprintf("/batches/%d?requeued=%d", f.BatchID, res.Requeued), http.StatusSeeOther)
	return nil
}

// ---- review queue and decisions ----

type whyCount struct {
	Why, Explain string
	N            int
}

type reviewData struct {
	BatchID int64 // 0: every batch
	ByWhy   []whyCount
	Total   int
	Cases   []foundView
	Next    string // the next page's URL; "" when none
	Decided string
}

// review lists the review cases (ops.Review: ops review's list), masked,
// with why each is there, oldest first, a page at a time.
func (c *Console) review(q *req) error {
	qs := q.r.URL.Query()
	only, _ := strconv.ParseInt(qs.Get("batch"), 10, 64)
	after, _ := strconv.ParseInt(qs.Get("after"), 10, 64)
	rq, err := ops.Review(q.r.Context(), c.cfg.Store, store.ReviewFilter{BatchID: only, After: max(after, 0), Limit: pageSize})
	if err != nil {
		return err
	}
	d := reviewData{BatchID: only}
	for _, why := range slices.Sorted(maps.Keys(rq.ByWhy)) {
		d.ByWhy = append(d.ByWhy, whyCount{Why: shown(why), Explain: shown(explainWhy(q.lang, why)), N: rq.ByWhy[why]})
		d.Total += rq.ByWhy[why]
	}
	for _, f := range rq.Cases {
		d.Cases = append(d.Cases, viewFound(q.lang, f))
	}
	if len(rq.Cases) == pageSize {
		v := url.Values{"after": {strconv.FormatInt(rq.Cases[pageSize-1].ID, 10)}}
		if only != 0 {
			v.Set("batch", strconv.FormatInt(only, 10))
		}
		d.Next = "/review?" + v.Encode()
	}
	if id, err := strconv.ParseInt(qs.Get("decided"), 10, 64); err == nil {
		as := pipeline.ReviewDecision(qs.Get("as"))
		if slices.Contains(pipeline.ReviewDecisions, as) {
			d.Decided = fmt.Sprintf(text(q.lang, "review.decided"), id, text(q.lang, "review."+string(as)))
		}
	}
	c.render(q, http.StatusOK, "review", d)
	return nil
}

// decide records a reviewer's decision on one case through ops.DecideRecords
// (what ops review -decide and the API call): audited with the user.
func (c *Console) decide(q *req) error {
	id, err := strconv.ParseInt(q.r.PathValue("record"), 10, 64)
	if err != nil || id <= 0 {
		return notFound()
	}
	ctx := q.r.Context()
	rec, err := c.cfg.Store.GetRecord(ctx, id)
	if errors.Is(err, pipeline.ErrNotFound) {
		return notFound()
	}
	if err != nil {
		return err
	}
	if rec.Status != pipeline.StatusReview { // decided already: nothing to audit
		return badRequest(errors.New("the record is not in review"))
	}
	decision := pipeline.ReviewDecision(q.r.PostFormValue("decision"))
	res, err := ops.DecideRecords(ctx, c.cfg.Store, []int64{id}, ops.DecideOptions{Decision: decision,
		Reason: strings.TrimSpace(q.r.PostFormValue("reason")), Operator: q.user.Name})
	if errors.Is(err, ops.ErrInvalidDecision) {
		return badRequest(err)
	}
	if err != nil {
		return err
	}
	if len(res.Decided) == 0 {
		return badRequest(errors.New("the record is not in review"))
	}
	c.log.Info("console review decision", "user", q.user.Name, "record", id, "decision", string(decision))
	http.Redirect(q.w, q.r, fmt.Sprintf("/review?decided=%d&as=%s", id, decision), http.StatusSeeOther)
	return nil
}

// ---- record lookup ----

type findData struct {
	Ref     string // as typed (the input's value; escaped by the template)
	Asked   bool
	Records []foundView
}

// find looks a ref up across batches (ops.Find: what ops find -ref shows).
func (c *Console) find(q *req) error {
	ref := strings.TrimSpace(q.r.URL.Query().Get("ref"))
	d := findData{Ref: shown(ref), Asked: ref != ""}
	if ref != "" {
		if len(ref) > 256 {
			return badRequest(errors.New("ref too long"))
		}
		found, err := ops.Find(q.r.Context(), c.cfg.Store, ops.FindOptions{Ref: ref, Limit: pageSize})
		if err != nil {
			return err
		}
		for _, f := range found {
			d.Records = append(d.Records, viewFound(q.lang, f))
		}
	}
	c.render(q, http.StatusOK, "find", d)
	return nil
}

// ---- export ----

func (c *Console) export(q *req) error {
	id, err := c.batchID(q)
	if err != nil {
		return err
	}
	ctx := q.r.Context()
	if _, err := c.batchStatus(ctx, id); err != nil {
		return err
	}
	format := cmp.Or(q.r.URL.Query().Get("format"), ops.FormatCSV)
	ctype := "text/csv; charset=utf-8"
	switch format {
	case ops.FormatCSV:
	case ops.FormatXLSX:
		ctype = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
	default:
		return badRequest(fmt.Errorf("format %q: want csv or xlsx", shown(format)))
	}
	name := fmt.Sprintf("batch%d.%s", id, format)
	h := q.w.Header()
	h.Set("Content-Type", ctype)
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	n, err := ops.ExportAudited(ctx, c.cfg.Store, id, q.w, ops.ExportOptions{Format: format, Lang: q.lang}, "console:"+name, q.user.Name)
	if err != nil {
		// Headers and rows may be sent already: the log says what broke,
		// and the download ends short.
		c.log.Error("console export", "batch", id, "user", q.user.Name, "records", n, "err", err)
	}
	return nil
}

// ---- upload ----

type uploadData struct {
	Error string
	Bad   []string
}

func (c *Console) uploadForm(q *req) error {
	c.render(q, http.StatusOK, "upload", uploadData{})
	return nil
}

func (c *Console) upload(q *req) error {
	if q.parts == nil {
		return badRequest(errors.New("want a multipart form"))
	}
	var name string
	for {
		p, err := q.parts.NextPart()
		if err != nil {
			return badRequest(errors.New("no manifest in the form"))
		}
		switch p.FormName() {
		case "name":
			b, err := io.ReadAll(io.LimitReader(p, 1024))
			if err != nil {
				return badRequest(err)
			}
			name = strings.TrimSpace(string(b))
			continue
		case "manifest":
		default:
			continue
		}
		file := p.FileName()
		if file == "" {
			return badRequest(errors.New("no manifest in the form"))
		}
		open := func(context.Context, string) (io.ReadCloser, error) { return io.NopCloser(p), nil }
		// the audit row is written with the batch, by ingest (as enqueue submit's)
		opts := ingest.SubmitOptions{Name: cmp.Or(name, file), Logger: c.log, Operator: q.user.Name}
		if c.cfg.Objects != nil {
			opts.CheckRef = c.cfg.Objects.CheckRef
		}
		sum, err := ingest.Submit(q.r.Context(), c.cfg.Store, open, file, opts)
		if err != nil {
			c.log.Info("console upload refused", "user", q.user.Name, "err", shown(err.Error()))
			c.render(q, http.StatusUnprocessableEntity, "upload", uploadData{Error: shown(err.Error())})
			return nil
		}
		added := sum.Inserted
		http.Redirect(q.w, q.r, fmt.Sprintf("/batches/%d?added=%d", sum.BatchID, added), http.StatusSeeOther)
		return nil
	}
}

// ---- audit log ----

type auditRow struct {
	ID                   int64
	At                   time.Time
	Who, Command, Reason string
	BatchID              int64
	Args, Result         string
}

func (c *Console) audit(q *req) error {
	rows, err := c.cfg.Store.ListAudit(q.r.Context(), q.r.URL.Query().Get("command"), 200)
	if err != nil {
		return err
	}
	var d []auditRow
	for _, r := range rows {
		d = append(d, auditRow{ID: r.ID, At: r.At, Who: shown(r.Operator), Command: shown(r.Command),
			Reason: shown(r.Reason), BatchID: r.BatchID, Args: shown(jsonText(r.Args)), Result: shown(jsonText(r.Result))})
	}
	c.render(q, http.StatusOK, "audit", d)
	return nil
}

// jsonText is m as compact JSON ("" when empty).
func jsonText(m map[string]any) string {
	if len(m) == 0 {
		return ""
	}
	b, err := json.Marshal(m)
	if err != nil {
		return fmt.Sprint(m)
	}
	return string(b)
}
