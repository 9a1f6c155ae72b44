package webhook

import (
	"encoding/json"
	"net/http"
	"strings"
)

// ProblemTypeBase prefixes the type of every problem the receiver answers with, as
// it does the REST API's.
const ProblemTypeBase = "https://ikq.dev/problems/"

type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// writeProblem answers with an RFC 9457 problem as application/problem+json.
func writeProblem(w http.ResponseWriter, status int, slug, title, detail string) {
	body, _ := json.Marshal(problem{Type: ProblemTypeBase + slug, Title: title, Status: status, Detail: detail})
	h := w.Header()
	h.Set("Content-Type", "application/problem+json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"ikq could not record the event; nothing was changed. Deliver it again later.")
}

// writeStatus answers 200, the only status ImageKit takes as delivered, with
// {"status": status}.
func writeStatus(w http.ResponseWriter, status string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(`{"status":"` + status + `"}` + "\n"))
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}
