// Package api is ivsbatch's JSON API under /api/v1, mounted on the server
// (server.Server): submit a manifest (an upload or an s3:// reference) with
// an idempotency key, list batches, a batch's status, plan, report and
// export, requeue with a preview (count and cost) then a confirmation, a
// record looked up by ref, the review queue with its decisions, and the
// webhook delivery log.
// Every handler calls the same ops/, ingest/ and store/ functions as the
// commands, with the authenticated caller as the audit log's operator.
// Errors are application/problem+json (server.Problem). The routes are
// described by openapi.yaml, served at /api/v1/openapi.yaml and checked
// against Routes by a test.
package api

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/ivsbatch/ivsbatch/auth"
	"github.com/ivsbatch/ivsbatch/objstore"
	"github.com/ivsbatch/ivsbatch/pipeline"
	"github.com/ivsbatch/ivsbatch/server"
	"github.com/ivsbatch/ivsbatch/store"
)

// OpenAPI is the API's OpenAPI 3.1 document.
//
//go:embed openapi.yaml
var OpenAPI []byte

// Deps are what the API works with.
type Deps struct {
	Store   *store.Store
	Redis   redis.UniversalClient // queue state in a batch's status
	Objects *objstore.Store       // s3:// manifests and the media policy of submitted rows
	Quota   float64               // IVSBATCH_QUOTA, for plans and requeue previews
	// MaxUpload bounds a manifest upload in bytes (default 1 GiB).
	MaxUpload int64
	Logger    *slog.Logger
}

// API answers /api/v1.
type API struct {
	Deps
	log *slog.Logger
}

// Route is one operation: method, path (net/http pattern syntax), the role
// it needs (empty: none) and its handler.
type Route struct {
	Method, Path string
	Role         auth.Role
	Handler      http.HandlerFunc
}

// New returns the API over d.
func New(d Deps) *API { return &API{Deps: d, log: cmp.Or(d.Logger, slog.Default())} }

// Routes lists the API's operations.
func (a *API) Routes() []Route {
	return []Route{
		{"GET", "/api/v1/openapi.yaml", "", a.openAPI},
		{"POST", "/api/v1/batches", auth.Operator, a.submit},
		{"GET", "/api/v1/batches", auth.Viewer, a.listBatches},
		{"GET", "/api/v1/batches/{id}", auth.Viewer, a.status},
		{"GET", "/api/v1/batches/{id}/plan", auth.Viewer, a.plan},
		{"GET", "/api/v1/batches/{id}/report", auth.Viewer, a.report},
		{"GET", "/api/v1/batches/{id}/export", auth.Viewer, a.export},
		{"POST", "/api/v1/requeues", auth.Operator, a.previewRequeue},
		{"POST", "/api/v1/requeues/{id}/confirm", auth.Operator, a.confirmRequeue},
		{"GET", "/api/v1/records", auth.Viewer, a.findRecords},
		{"GET", "/api/v1/review", auth.Viewer, a.reviewQueue},
		{"POST", "/api/v1/review/decisions", auth.Operator, a.decide},
		{"GET", "/api/v1/webhooks/deliveries", auth.Viewer, a.webhookDeliveries},
	}
}

// Register mounts the routes on srv, each guarded by its role; anything
// else under /api/ answers a 404 problem.
func (a *API) Register(srv *server.Server) {
	for _, r := range a.Routes() {
		var h http.Handler = r.Handler
		if r.Role != "" {
			h = server.RequireRole(r.Role, h)
		}
		srv.Handle(r.Method+" "+r.Path, h)
	}
	srv.Handle("/api/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		server.Error(w, http.StatusNotFound, "not_found", "no such API operation (see /api/v1/openapi.yaml)")
	}))
}

func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/yaml")
	_, _ = w.Write(OpenAPI)
}

// caller is the authenticated caller (routes with a role always have one).
func caller(r *http.Request) server.User {
	u, _ := server.UserFrom(r.Context())
	return u
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// pathID reads a positive id from the path, answering 400 when it is not one.
func pathID(w http.ResponseWriter, r *http.Request) (int64, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		server.Error(w, http.StatusBadRequest, "bad_id", "the id in the path must be a positive integer")
		return 0, false
	}
	return id, true
}

// fail answers err: 404 for what does not exist, 500 (logged, not shown)
// otherwise.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, pipeline.ErrNotFound) {
		server.Error(w, http.StatusNotFound, "not_found", "no such batch")
		return
	}
	if r.Context().Err() != nil {
		return // the caller went away
	}
	a.log.Error("api", "route", r.Pattern, "err", err)
	server.Error(w, http.StatusInternalServerError, "internal", "the server failed; see its log")
}

// decodeJSON reads a JSON request body of at most 1 MiB into v, refusing
// unknown fields; it answers 400 itself when it cannot.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		server.Error(w, http.StatusBadRequest, "bad_json", "the body is not the JSON object expected: "+err.Error())
		return false
	}
	return true
}
