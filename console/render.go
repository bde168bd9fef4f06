package console

import (
	"bytes"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"github.com/ivsbatch/ivsbatch/identity"
	"github.com/ivsbatch/ivsbatch/internal/sink"
	"github.com/ivsbatch/ivsbatch/pipeline"
)

// funcs are the templates' functions in language l.
func funcs(l Lang) template.FuncMap {
	return template.FuncMap{
		"t":  func(key string) string { return text(l, key) },
		"tf": func(key string, args ...any) string { return fmt.Sprintf(text(l, key), args...) },
		"status": func(s pipeline.Status) string {
			if m, ok := messages["status."+string(s)]; ok {
				return m[l]
			}
			return string(s)
		},
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
