package api

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"path"
	"strings"

	"github.com/ivsbatch/ivsbatch/ingest"
	"github.com/ivsbatch/ivsbatch/ops"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

// SubmitRequest is a submission: the JSON body for an s3:// manifest, or
// the form fields before the "manifest" file of a multipart upload.
type SubmitRequest struct {
	Source   string `json:"source"` // s3://bucket/key (JSON body only)
	Name     string `json:"name,omitempty"`
	Format   string `json:"format,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	Sheet    string `json:"sheet,omitempty"`
}

// Submitted answers a submission.
type Submitted struct {
	BatchID  int64        `json:"batch_id"`
	Created  bool         `json:"created"` // false: the same manifest was submitted before
	Rows     int          `json:"rows"`
	Valid    int          `json:"valid"`
	Rejected int          `json:"rejected"`
	Review   int          `json:"review"`
	Inserted int          `json:"inserted"`
	Format   string       `json:"format"`
	Encoding string       `json:"encoding"`
	Refused  []RefusedRow `json:"refused"` // the first 100 refused rows
	Plan     Plan         `json:"plan"`
	Links    Links        `json:"links"`
}

// RefusedRow is a manifest row refused at intake (its reason is masked:
// no personal data).
type RefusedRow struct {
	Line   int    `json:"line"`
	Field  string `json:"field,omitempty"`
	Code   string `json:"code"`
	Reason string `json:"reason"`
}

// Links are a batch's resources.
type Links struct {
	Self   string `json:"self"`
	Plan   string `json:"plan"`
	Report string `json:"report"`
	Export string `json:"export"`
}

func batchLinks(id int64) Links {
	b := fmt.Sprintf("/api/v1/batches/%d", id)
	return Links{Self: b, Plan: b + "/plan", Report: b + "/report", Export: b + "/export"}
}

// maxIdempotencyKey bounds an Idempotency-Key (printable ASCII).
const maxIdempotencyKey = 255

// submit: POST /api/v1/batches. A JSON body names an s3:// manifest; a
// multipart/form-data body uploads one (fields name, format, encoding,
// sheet, then the file "manifest", streamed into intake, never stored on
// disk). With an Idempotency-Key, the same key from the same caller
// within 24 h gets the first answer again (Idempotent-Replayed: true),
// and a different request under that key is refused (422).
func (a *API) submit(w http.ResponseWriter, r *http.Request) {
	key := r.Header.Get("Idempotency-Key")
	if len(key) > maxIdempotencyKey || strings.ContainsFunc(key, func(c rune) bool { return c < 0x21 || c > 0x7e }) {
		server.Error(w, http.StatusBadRequest, "idempotency.key", "Idempotency-Key: want 1 to 255 printable ASCII characters")
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, a.maxUpload())
	req, open, ok := a.readSubmission(w, r)
	if !ok {
		return
	}
	if key != "" {
		fp, _ := json.Marshal(req)
		sum := sha256.Sum256(append(fp, []byte(r.Header.Get("Content-Length"))...))
		principal := caller(r).Principal()
		rep, err := a.Store.BeginIdempotent(r.Context(), principal, key, sum[:])
		switch {
		case errors.Is(err, store.ErrIdempotencyMismatch):
			server.Error(w, http.StatusUnprocessableEntity, "idempotency.mismatch", err.Error())
			return
		case errors.Is(err, store.ErrIdempotencyInProgress):
			w.Header().Set("Retry-After", "5")
			server.Error(w, http.StatusConflict, "idempotency.in_progress", err.Error())
			return
		case err != nil:
			a.fail(w, r, err)
			return
		case rep.Status != 0:
			replay(w, rep)
			return
		}
		rec := &recorder{ResponseWriter: w}
		defer func() {
			ctx := context.WithoutCancel(r.Context())
			var err error
			if rec.status >= 500 || rec.status == 0 {
				err = a.Store.AbandonIdempotent(ctx, principal, key)
			} else {
				err = a.Store.FinishIdempotent(ctx, principal, key, rec.status, rec.body.Bytes())
			}
			if err != nil {
				a.log.Error("api: idempotency key", "err", err)
			}
		}()
		w = rec
	}
	a.doSubmit(w, r, req, open)
}

func (a *API) maxUpload() int64 { return cmp.Or(a.MaxUpload, 1<<30) }

// readSubmission reads the request up to the manifest: a JSON body's
// s3:// reference, or a multipart upload's fields and its file part.
func (a *API) readSubmission(w http.ResponseWriter, r *http.Request) (SubmitRequest, ingest.Opener, bool) {
	var req SubmitRequest
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		if !decodeJSON(w, r, &req) {
			return req, nil, false
		}
		if !strings.HasPrefix(req.Source, "s3://") {
			server.Error(w, http.StatusBadRequest, "bad_source", "source: want an s3://bucket/key reference (upload a file as multipart/form-data)")
			return req, nil, false
		}
		if a.Objects == nil {
			server.Error(w, http.StatusBadRequest, "bad_source", "no object store is configured on this server")
			return req, nil, false
		}
		return req, func(ctx context.Context, src string) (io.ReadCloser, error) { return a.Objects.Open(ctx, src) }, true
	case "multipart/form-data":
		mr := multipart.NewReader(r.Body, params["boundary"])
		for {
			part, err := mr.NextPart()
			if err != nil {
				server.Error(w, http.StatusBadRequest, "bad_upload", "the form has no \"manifest\" file part")
				return req, nil, false
			}
			if part.FormName() == "manifest" {
				req.Source = "upload:" + uploadName(part.FileName())
				return req, func(context.Context, string) (io.ReadCloser, error) { return part, nil }, true
			}
			v, err := io.ReadAll(io.LimitReader(part, 1025))
			if err != nil || len(v) > 1024 {
				server.Error(w, http.StatusBadRequest, "bad_upload", "form field "+part.FormName()+": at most 1 KiB")
				return req, nil, false
			}
			switch part.FormName() {
			case "name":
				req.Name = string(v)
			case "format":
				req.Format = string(v)
			case "encoding":
				req.Encoding = string(v)
			case "sheet":
				req.Sheet = string(v)
			}
		}
	}
	server.Error(w, http.StatusUnsupportedMediaType, "bad_content_type",
		"send application/json with an s3:// source, or multipart/form-data with a \"manifest\" file")
	return req, nil, false
}

// uploadName keeps the base name of an uploaded file (its extension tells
// the format), without control characters, at most 200 bytes.
func uploadName(n string) string {
	n = path.Base(strings.ReplaceAll(n, "\\", "/"))
	n = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, n)
	if len(n) > 200 {
		n = n[len(n)-200:]
	}
	if n == "" || n == "." || n == "/" {
		return "manifest"
	}
	return n
}

func (a *API) doSubmit(w http.ResponseWriter, r *http.Request, req SubmitRequest, open ingest.Opener) {
	switch ingest.Format(req.Format) {
	case "", ingest.CSV, ingest.JSONL, ingest.JSON, ingest.XLSX:
	default:
		server.Error(w, http.StatusBadRequest, "bad_format", "format: csv, jsonl, json or xlsx")
		return
	}
	ctx := r.Context()
	u := caller(r)
	// a stored manifest's audit row is written with its batch, by ingest
	opts := ingest.SubmitOptions{Name: req.Name, Format: ingest.Format(req.Format), Encoding: req.Encoding,
		Sheet: req.Sheet, Logger: a.log, Operator: u.AuditName()}
	if a.Objects != nil {
		opts.CheckRef = a.Objects.CheckRef
	}
	sum, err := ingest.Submit(ctx, a.Store, open, req.Source, opts)
	audit := store.AuditEntry{Operator: u.AuditName(), Command: "submit", BatchID: sum.BatchID,
		Args: map[string]any{"source": req.Source, "via": "api"}}
	if err != nil {
		if ctx.Err() != nil {
			return
		}
		if perr := a.Store.Pool().Ping(ctx); perr != nil {
			a.fail(w, r, err)
			return
		}
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			server.Error(w, http.StatusRequestEntityTooLarge, "upload.too_large", fmt.Sprintf("the upload exceeds %d bytes", tooLarge.Limit))
			return
		}
		audit.Result = map[string]any{"refused": true}
		a.writeAudit(ctx, audit)
		server.Error(w, http.StatusUnprocessableEntity, "manifest.refused", err.Error())
		return
	}
	p, err := ops.MakePlan(ctx, a.Store, sum.BatchID, a.Quota)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := Submitted{BatchID: sum.BatchID, Created: sum.Created, Rows: sum.Rows, Valid: sum.Valid,
		Rejected: sum.Rejected, Review: sum.Review, Inserted: sum.Inserted, Format: string(sum.Info.Format),
		Encoding: sum.Info.Encoding, Refused: []RefusedRow{}, Plan: toPlan(p), Links: batchLinks(sum.BatchID)}
	for _, b := range sum.Bad {
		out.Refused = append(out.Refused, RefusedRow{Line: b.Line, Field: b.Field, Code: b.Code, Reason: b.Reason})
	}
	w.Header().Set("Location", out.Links.Self)
	status := http.StatusOK
	if sum.Created {
		status = http.StatusCreated
	}
	writeJSON(w, status, out)
}

func (a *API) writeAudit(ctx context.Context, e store.AuditEntry) {
	if err := a.Store.Audit(ctx, e); err != nil {
		a.log.Warn("audit row not written", "command", e.Command, "err", err)
	}
}

// recorder keeps a copy of a response to store under its idempotency key.
type recorder struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	r.body.Write(b)
	return r.ResponseWriter.Write(b)
}

// replay answers with a stored response.
func replay(w http.ResponseWriter, rep store.IdempotentReply) {
	ctype := "application/json"
	if rep.Status >= 400 {
		ctype = "application/problem+json"
	}
	w.Header().Set("Content-Type", ctype)
	w.Header().Set("Idempotent-Replayed", "true")
	w.WriteHeader(rep.Status)
	_, _ = w.Write(rep.Response)
}
