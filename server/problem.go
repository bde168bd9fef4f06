package server

import (
	"encoding/json"
	"net/http"
)

// Problem is an RFC 9457 problem detail, the body of every API error.
// Detail is for people and never holds personal data.
type Problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail,omitempty"`
	// Code names the problem for programs ("auth.required", "csrf",
	// "idempotency.mismatch" …).
	Code string `json:"code,omitempty"`
}

// WriteProblem answers with p as application/problem+json.
func WriteProblem(w http.ResponseWriter, p Problem) {
	if p.Type == "" {
		p.Type = "about:blank"
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// Error answers with a problem of that status, code and detail.
func Error(w http.ResponseWriter, status int, code, detail string) {
	WriteProblem(w, Problem{Status: status, Code: code, Detail: detail})
}
