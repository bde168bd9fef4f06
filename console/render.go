package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// funcs are the templates' functions in language l.
func funcs(l Lang) template.FuncMap {
	return template.FuncMap{
		"t":          func(key string) string { return text(l, key) },
		"tf":         func(key string, args ...any) string { return fmt.Sprintf(text(l, key), args...) },
		"status":     func(s pipeline.Status) string { return l.Status(string(s)) },
		"explain":    func(code string) string { return l.Code(code) },
		"switchlang": func() string { return switchLabel(l) },
		"time": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.Local().Format("2006-01-02 15:04:05")
		},
		"pct": func(part, whole int) string {
			if whole <= 0 {
				return "0"
			}
			return fmt.Sprintf("%.1f", 100*float64(part)/float64(whole))
		},
		"lang": func() string { return string(l) },
	}
}

// view is what every page's template gets.
type view struct {
	User    User
	Lang    Lang
	CSRF    string
	Field   string // CSRFField
	Path    string // the page's path and query, to come back to after a language switch
	Logout  string
	Refresh bool // reload every 5 s (a batch with open records)
	D       any  // the page's own data
}

// CanOperate is true when the user may change things (upload, re-queue,
// decide).
func (v view) CanOperate() bool { return v.User.Role >= RoleOperator }

// render writes the page named name with data d.
func (c *Console) render(q *req, status int, name string, d any) {
	v := view{User: q.user, Lang: q.lang, CSRF: q.csrf, Field: CSRFField, Path: q.r.URL.RequestURI(),
		Logout: c.cfg.LogoutURL, D: d}
	if q.r.Method != http.MethodGet { // a form's answer: switching language goes to a page, not the form's action
		v.Path = "/batches"
	}
	if r, ok := d.(interface{ refresh() bool }); ok {
		v.Refresh = r.refresh()
	}
	var b bytes.Buffer
	if err := c.pages[q.lang].ExecuteTemplate(&b, name, v); err != nil {
		c.log.Error("console template", "page", name, "err", err)
		http.Error(q.w, "template error", http.StatusInternalServerError)
		return
	}
	q.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	q.w.Header().Set("Content-Language", string(q.lang))
	q.w.WriteHeader(status)
	_, _ = q.w.Write(b.Bytes())
}

// shown is text from outside as a page shows it: html/template escapes its
// markup; control and bidirectional characters (which would reorder what an
// operator reads) are written as visible escapes.
func shown(s string) string { return sink.Terminal(s) }

// recordView is a record as pages show it: personal data masked, text from
// outside made visible, messages scrubbed of the record's personal data.
type recordView struct {
	ID, BatchID  int64
	Ref          string
	Line         int
	Shape        string
	Status       pipeline.Status
	Name, Number string // masked
	Verdict      string // "1000 valid"
	Similarity   string
	Code         string // last error code
	Message      string
	Attempts     int
	Updated      time.Time
	Why          string // review cases: why the record is there
	HasVerdict   bool
}

func viewRecord(r *pipeline.Record) recordView {
	v := recordView{ID: r.ID, BatchID: r.BatchID, Ref: shown(r.Ref), Line: r.Line, Shape: string(r.Shape),
		Status: r.Status, Name: identity.MaskName(r.Name), Number: identity.MaskID(r.IDNumber),
		Code: shown(r.LastErrorCode), Message: shown(r.Scrub(r.LastErrorMessage)), Attempts: r.Attempts,
		Updated: r.UpdatedAt}
	if r.Code != nil {
		v.HasVerdict = true
		v.Verdict = strings.TrimSpace(fmt.Sprintf("%d %s", *r.Code, shown(r.Result)))
	}
	if r.Similarity != nil {
		v.Similarity = fmt.Sprintf("%.2f", *r.Similarity)
	}
	switch {
	case v.HasVerdict:
		v.Why = v.Verdict + ": " + shown(r.Scrub(r.Message))
	case r.LastErrorCode != "":
		v.Why = v.Code + ": " + v.Message
	}
	return v
}

// foundView is a record ops.Find or ops.Review returned (masked already) as
// pages show it, its outcome explained in the page's language.
type foundView struct {
	ID, BatchID int64
	Ref         string
	Line        int
	Status      pipeline.Status
	Name        string // masked
	Number      string // masked
	Verdict     string // "3001 nonexistent", or ""
	Why         string // the verification or error code
	Explain     string
	Finished    time.Time
	Decision    string // the latest review decision: "reject by user:rita: no such person", or ""
}

func viewFound(l Lang, f ops.Found) foundView {
	v := foundView{ID: f.ID, BatchID: f.BatchID, Ref: shown(f.Ref), Line: f.Line, Status: f.Status,
		Name: shown(f.NameMasked), Number: shown(f.IDMasked), Verdict: shown(f.Verdict), Why: shown(f.Why),
		Explain: shown(explainWhy(l, f.Why))}
	if f.FinishedAt != nil {
		v.Finished = *f.FinishedAt
	}
	if d := f.Decision; d != nil {
		v.Decision = shown(fmt.Sprintf("%s · %s · %s", l.Label("decision."+string(d.Decision)), d.Operator, d.Reason))
	}
	return v
}

// explainWhy explains a why code: a verification code (digits) or an error
// or reason code.
func explainWhy(l Lang, why string) string {
	if why == "" {
		return ""
	}
	if n, err := strconv.Atoi(why); err == nil {
		return l.Verdict(n)
	}
	return l.Code(why)
}
