package console_test

import (
	"context"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/ivsbatch/ivsbatch/console"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/store"
	"github.com/ivsbatch/ivsbatch/store/storetest"
)

// headerAuth is the test's stand-in for the server's sessions: the user is
// named by a header ("name:role"); each user's CSRF token is "tok-" + name.
type headerAuth struct{}

func (headerAuth) User(r *http.Request) (console.User, bool) {
	name, role, ok := strings.Cut(r.Header.Get("X-Test-User"), ":")
	if !ok {
		return console.User{}, false
	}
	roles := map[string]console.Role{"viewer": console.RoleViewer, "operator": console.RoleOperator, "admin": console.RoleAdmin}
	return console.User{Name: name, Role: roles[role]}, true
}

func (headerAuth) CSRFToken(r *http.Request) string {
	u, ok := headerAuth{}.User(r)
	if !ok {
		return ""
	}
	return "tok-" + u.Name
}

const (
	fullName   = "欧阳娜娜"
	fullID     = "11010519491231002X"
	hostileRef = "<script>alert(1)</script>\u202egnp.exe"
)

type fixture struct {
	st      *store.Store
	srv     *httptest.Server
	batch   int64
	failed  []int64 // IVS.0101
	review  int64   // 3001, a verdict
	review2 int64   // 3001, to re-verify
	private int64   // name.private_use, no verdict
}

func setup(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st := storetest.Open(t)
	b, _, err := st.CreateBatch(ctx, pipeline.Batch{Name: "june <b>payroll</b>", Source: "june.csv", ManifestSHA256: "sha-june"})
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.NewRecord
	for i := range 6 {
		rows = append(rows, store.NewRecord{Input: pipeline.Input{Ref: "r" + strconv.Itoa(i), Line: i + 2,
			Shape: pipeline.ShapeName, Name: fullName, IDNumber: fullID}})
	}
	rows[5].Ref = hostileRef
	if _, err := st.InsertInputs(ctx, b.ID, rows); err != nil {
		t.Fatal(err)
	}
	recs, err := st.ListRecords(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, batch: b.ID}
	pool := st.Pool()
	exec := func(sql string, args ...any) {
		t.Helper()
		if _, err := pool.Exec(ctx, sql, args...); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range recs[:3] {
		exec(`UPDATE records SET status = 'failed', last_error_code = 'IVS.0101', finished_at = now(),
			last_error_message = 'backend busy for '||$2 WHERE id = $1`, r.ID, fullName)
		f.failed = append(f.failed, r.ID)
	}
	f.review = recs[3].ID
	exec(`UPDATE records SET status = 'review', verdict = 'nonexistent', verification_code = 3001, finished_at = now(),
		verification_message = 'not in the authority''s data' WHERE id = $1`, f.review)
	f.review2 = recs[4].ID
	exec(`UPDATE records SET status = 'review', verdict = 'nonexistent', verification_code = 3001, finished_at = now(),
		verification_message = 'not in the authority''s data' WHERE id = $1`, f.review2)
	f.private = recs[5].ID
	exec(`UPDATE records SET status = 'review', last_error_code = 'name.private_use', finished_at = now(),
		last_error_message = 'a private-use character' WHERE id = $1`, f.private)
	c, err := console.New(console.Config{Store: st, Auth: headerAuth{}})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(c)
	t.Cleanup(f.srv.Close)
	return f
}

type resp struct {
	status int
	body   string
	header http.Header
}

func (f *fixture) do(t *testing.T, user, method, path string, form url.Values, hdr ...string) resp {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if user != "" {
		req.Header.Set("X-Test-User", user)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	res, err := cl.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, string(b), res.Header}
}

func (r resp) want(t *testing.T, status int, parts ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%.3000s", r.status, status, r.body)
	}
	for _, p := range parts {
		if !strings.Contains(r.body, p) {
			t.Fatalf("body lacks %q:\n%.6000s", p, r.body)
		}
	}
}

// Every page shows personal data masked only, and text from outside
// escaped: markup as text, bidirectional controls as visible escapes.
func TestPagesMaskAndEscape(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := strconv.FormatInt(f.batch, 10)
	pages := map[string][]string{
		"/batches":                   {"june &lt;b&gt;payroll&lt;/b&gt;", `href="/batches/` + id + `"`},
		"/batches/" + id:             {"IVS.0101", "chart-verdicts", "3001 nonexistent", "<svg"},
		"/batches/" + id + "/charts": {"chart-verdicts", "<svg"},
		"/batches/" + id + "/records?code=IVS.0101": {"欧*", "11**************2X", "backend busy for &lt;name&gt;"},
		"/batches/" + id + "/records?status=review": {"&lt;script&gt;alert(1)&lt;/script&gt;\\u202egnp.exe"},
		"/review":      {"3001 nonexistent", "name.private_use"},
		"/find?ref=r1": {"欧*", `data-record="` + strconv.FormatInt(f.failed[1], 10) + `"`},
		"/find?ref=" + url.QueryEscape(hostileRef): {"\\u202egnp.exe"},
		"/find?ref=nothing":                        {`id="not-found"`},
	}
	for path, parts := range pages {
		r := f.do(t, "vera:viewer", "GET", path, nil)
		r.want(t, http.StatusOK, parts...)
		for _, leak := range []string{fullName, fullID, "<script>alert", "\u202e", "<b>payroll"} {
			if strings.Contains(r.body, leak) {
				t.Errorf("%s shows %q", path, leak)
			}
		}
	}
	exp := f.do(t, "vera:viewer", "GET", "/batches/"+id+"/export?format=csv", nil)
	exp.want(t, http.StatusOK, "欧*", "IVS.0101")
	if got := exp.header.Get("Content-Disposition"); got != `attachment; filename="batch`+id+`.csv"` {
		t.Errorf("export Content-Disposition %q", got)
	}
	if strings.Contains(exp.body, fullID) || strings.Contains(exp.body, fullName) {
		t.Error("the export holds personal data unmasked")
	}
	f.do(t, "vera:viewer", "GET", "/batches/999999", nil).want(t, http.StatusNotFound)
	f.do(t, "vera:viewer", "GET", "/batches/999999/charts", nil).want(t, http.StatusNotFound)
	// While records are open, the page (refreshed every 5 s) leaves the
	// charts, which read the whole batch, to a link.
	if _, err := f.st.Pool().Exec(context.Background(), `UPDATE records SET status = 'pending', finished_at = NULL WHERE id = $1`,
		f.failed[0]); err != nil {
		t.Fatal(err)
	}
	if r := f.do(t, "vera:viewer", "GET", "/batches/"+id, nil); r.status != http.StatusOK ||
		!strings.Contains(r.body, `id="charts-later"`) || strings.Contains(r.body, "<svg") {
		t.Errorf("a running batch's page: %d, want the charts as a link only:\n%.3000s", r.status, r.body)
	}
	if r := f.do(t, "", "GET", "/batches", nil); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/login?next=") {
		t.Errorf("no user: %d %q, want a redirect to /login", r.status, r.header.Get("Location"))
	}
}

// A viewer sees no requeue or decision form, and the server refuses both to
// a viewer holding a valid CSRF token; an operator's form without its token
// is refused too. Nothing changes.
func TestRolesAndCSRF(t *testing.T) {
	t.Parallel()
	f := setup(t)
	id := strconv.FormatInt(f.batch, 10)
	page := f.do(t, "vera:viewer", "GET", "/batches/"+id, nil)
	page.want(t, http.StatusOK, "IVS.0101")
	if strings.Contains(page.body, "/requeue") || strings.Contains(page.body, `class="requeue"`) {
		t.Error("a viewer's batch page has a requeue form")
	}
	if r := f.do(t, "vera:viewer", "GET", "/review", nil); strings.Contains(r.body, `class="decide"`) {
		t.Error("a viewer's review page has decision forms")
	}
	op := f.do(t, "otto:operator", "GET", "/batches/"+id, nil)
	op.want(t, http.StatusOK, `action="/batches/`+id+`/requeue/preview"`, `name="csrf_token" value="tok-otto"`)

	form := url.Values{"code": {"IVS.0101"}, "csrf_token": {"tok-vera"}}
	f.do(t, "vera:viewer", "POST", "/batches/"+id+"/requeue", form).want(t, http.StatusForbidden, "role")
	f.do(t, "vera:viewer", "POST", "/batches/"+id+"/requeue/preview", form).want(t, http.StatusForbidden)
	f.do(t, "vera:viewer", "POST", "/review/"+strconv.FormatInt(f.review, 10),
		url.Values{"decision": {"approve"}, "reason": {"x"}, "csrf_token": {"tok-vera"}}).want(t, http.StatusForbidden)
	f.do(t, "vera:viewer", "GET", "/audit", nil).want(t, http.StatusForbidden)

	noToken := url.Values{"code": {"IVS.0101"}}
	f.do(t, "otto:operator", "POST", "/batches/"+id+"/requeue", noToken).want(t, http.StatusForbidden, "form expired")
	wrong := url.Values{"code": {"IVS.0101"}, "csrf_token": {"tok-vera"}}
	f.do(t, "otto:operator", "POST", "/batches/"+id+"/requeue", wrong).want(t, http.StatusForbidden)
	for _, rid := range f.failed {
		r, err := f.st.GetRecord(context.Background(), rid)
		if err != nil {
			t.Fatal(err)
		}
		if r.Status != pipeline.StatusFailed {
			t.Fatalf("record %d is %s after refused requeues", rid, r.Status)
		}
	}
}

// An operator previews a requeue (count and cost), confirms it, and the
// records are pending with the audit row naming the operator; then decides
// the review cases.
func TestRequeueAndDecide(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ctx := context.Background()
	id := strconv.FormatInt(f.batch, 10)
	form := url.Values{"code": {"IVS.0101"}, "csrf_token": {"tok-otto"}}
	f.do(t, "otto:operator", "POST", "/batches/"+id+"/requeue/preview", form).
		want(t, http.StatusOK, "3 records selected: 3 would be re-queued", "up to 3 paid IVS calls", "15 if every record",
			`action="/batches/`+id+`/requeue"`)
	for _, rid := range f.failed {
		if r, _ := f.st.GetRecord(ctx, rid); r.Status != pipeline.StatusFailed {
			t.Fatalf("the preview changed record %d to %s", rid, r.Status)
		}
	}
	r := f.do(t, "otto:operator", "POST", "/batches/"+id+"/requeue", form)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/batches/"+id+"?requeued=3" {
		t.Fatalf("confirm: %d %q", r.status, r.header.Get("Location"))
	}
	for _, rid := range f.failed {
		if r, _ := f.st.GetRecord(ctx, rid); r.Status != pipeline.StatusPending {
			t.Fatalf("record %d is %s after the requeue", rid, r.Status)
		}
	}
	audit, err := f.st.ListAudit(ctx, "requeue", 10)
	if err != nil || len(audit) != 1 || audit[0].Operator != "otto" || audit[0].BatchID != f.batch {
		t.Fatalf("requeue audit rows %+v (%v), want one by otto", audit, err)
	}

	decide := func(rec int64, decision, reason string) resp {
		return f.do(t, "otto:operator", "POST", "/review/"+strconv.FormatInt(rec, 10),
			url.Values{"decision": {decision}, "reason": {reason}, "csrf_token": {"tok-otto"}})
	}
	decide(f.review, "approve", "").want(t, http.StatusBadRequest)
	decide(f.review, "maybe", "looks fine").want(t, http.StatusBadRequest)
	if r := decide(f.review, "approve", "called the customer: the person exists"); r.status != http.StatusSeeOther {
		t.Fatalf("approve: %d %s", r.status, r.body)
	}
	if r := decide(f.private, "reject", "not a real name"); r.status != http.StatusSeeOther {
		t.Fatalf("reject: %d %s", r.status, r.body)
	}
	if rec, _ := f.st.GetRecord(ctx, f.review); rec.Status != pipeline.StatusReviewApproved || rec.Code == nil || *rec.Code != 3001 {
		t.Fatalf("approved record: %s %v, want approved in review with IVS's 3001 kept", rec.Status, rec.Code)
	}
	if rec, _ := f.st.GetRecord(ctx, f.private); rec.Status != pipeline.StatusReviewRejected {
		t.Fatalf("rejected record: %s", rec.Status)
	}
	decide(f.review, "reject", "again").want(t, http.StatusBadRequest, "not in review")
	if r := decide(f.review2, "reverify", "the authority updated its data"); r.status != http.StatusSeeOther {
		t.Fatalf("reverify: %d %s", r.status, r.body)
	}
	if rec, _ := f.st.GetRecord(ctx, f.review2); rec.Status != pipeline.StatusPending || !rec.Reverify || rec.Code != nil {
		t.Fatalf("re-verified record: %s reverify=%v code=%v, want pending, forced, no verdict", rec.Status, rec.Reverify, rec.Code)
	}
	// one audit row per decision, as ops review -decide writes it (newest first)
	rows, err := f.st.ListAudit(ctx, "review-decision", 10)
	if err != nil || len(rows) != 3 || rows[0].Operator != "otto" || rows[0].Reason != "the authority updated its data" ||
		rows[1].Reason != "not a real name" || rows[2].Operator != "otto" {
		t.Fatalf("review audit rows %+v (%v), want three by otto", rows, err)
	}
	if d, err := f.st.LatestDecisions(ctx, []int64{f.review, f.private, f.review2}); err != nil || len(d) != 3 ||
		d[f.private].Decision != pipeline.DecideReject || d[f.private].Operator != "otto" {
		t.Fatalf("review decisions %+v (%v)", d, err)
	}
	f.do(t, "otto:operator", "GET", "/audit", nil).want(t, http.StatusOK, "not a real name", `&#34;decision&#34;:&#34;reject&#34;`)
	f.do(t, "otto:operator", "GET", "/review", nil).want(t, http.StatusOK, `id="no-review"`)
}

// The language follows Accept-Language, and the operator's switch wins.
func TestLanguage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.do(t, "vera:viewer", "GET", "/batches", nil).want(t, http.StatusOK, `<html lang="en">`, "Batches")
	f.do(t, "vera:viewer", "GET", "/batches", nil, "Accept-Language", "zh-CN,zh;q=0.9,en;q=0.8").
		want(t, http.StatusOK, `<html lang="zh-CN">`, "批次列表", "待人工审核")
	f.do(t, "vera:viewer", "GET", "/batches", nil, "Accept-Language", "zh-TW").want(t, http.StatusOK, "批次列表")
	f.do(t, "vera:viewer", "GET", "/batches", nil, "Accept-Language", "fr-FR").want(t, http.StatusOK, "Batches")
	sw := f.do(t, "vera:viewer", "GET", "/lang?to=zh-CN&back=/review", nil)
	if sw.status != http.StatusSeeOther || sw.header.Get("Location") != "/review" {
		t.Fatalf("switch: %d %q", sw.status, sw.header.Get("Location"))
	}
	if c := sw.header.Get("Set-Cookie"); !strings.Contains(c, console.LangCookie+"=zh-CN") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("switch cookie %q", c)
	}
	f.do(t, "vera:viewer", "GET", "/batches", nil, "Cookie", console.LangCookie+"=zh-CN", "Accept-Language", "en").
		want(t, http.StatusOK, "批次列表")
	if loc := f.do(t, "vera:viewer", "GET", "/lang?to=en&back=//evil.example/", nil).header.Get("Location"); loc != "/batches" {
		t.Errorf("switch back to another site: %q", loc)
	}
}

// Every key the templates and pages ask for is in the catalogue
// (internal/i18n, whose own test checks every label has both languages).
func TestCatalogueComplete(t *testing.T) {
	t.Parallel()
	used := regexp.MustCompile(`\{\{t(?:f)? "([a-z0-9_.]+)"`)
	err := fs.WalkDir(os.DirFS("templates"), ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile("templates/" + path)
		if err != nil {
			return err
		}
		for _, m := range used.FindAllStringSubmatch(string(b), -1) {
			if !console.HasText(m[1]) {
				t.Errorf("%s uses %q, not in the catalogue", path, m[1])
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
