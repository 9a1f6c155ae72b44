// Package problem writes ikq's HTTP answers: RFC 9457 problem details for errors and
// plain JSON otherwise, with the same headers on every route.
//
//	problem.Write(w, problem.New(http.StatusNotFound, "job-not-found", "Job not found",
//		"No upload job has this id."))
//	problem.JSON(w, http.StatusOK, record)
package problem

import (
	"encoding/json"
	"net/http"
)

// TypeBase prefixes the type of every problem ikq answers with; the rest is a slug
// such as "invalid-job" or "bad-token".
const TypeBase = "https://ikq.dev/problems/"

// Details is a problem with the four RFC 9457 members. Packages with more members
// (the REST API's per-field errors) write their own struct with Write.
type Details struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// New returns a problem of type TypeBase+slug.
func New(status int, slug, title, detail string) Details {
	return Details{Type: TypeBase + slug, Title: title, Status: status, Detail: detail}
}

// Write answers with p, a problem whose status is status, as application/problem+json.
func Write(w http.ResponseWriter, status int, p any) {
	write(w, "application/problem+json", status, p)
}

// WriteDetails answers with d as application/problem+json.
func WriteDetails(w http.ResponseWriter, d Details) { Write(w, d.Status, d) }

// JSON answers with v as application/json. A value that cannot be encoded (a bug)
// gets a 500 problem instead.
func JSON(w http.ResponseWriter, status int, v any) {
	write(w, "application/json", status, v)
}

func write(w http.ResponseWriter, contentType string, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		contentType, status = "application/problem+json", http.StatusInternalServerError
		body, _ = json.Marshal(New(status, "internal", "Internal error", "The answer could not be encoded."))
	}
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
