package webhook

import (
	"net/http"
	"strings"

	"github.com/ikq-dev/ikq/internal/problem"
)

// ProblemTypeBase prefixes the type of every problem the receiver answers with, as
// it does the REST API's.
const ProblemTypeBase = "https://ikq.dev/problems/" // the same as the REST API's; a test holds them equal

// writeProblem answers with an RFC 9457 problem as application/problem+json.
func writeProblem(w http.ResponseWriter, status int, slug, title, detail string) {
	problem.WriteDetails(w, problem.New(status, slug, title, detail))
}

func writeUnavailable(w http.ResponseWriter) {
	w.Header().Set("Retry-After", "1")
	writeProblem(w, http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"ikq could not record the event; nothing was changed. Deliver it again later.")
}

// writeStatus answers 200, the only status ImageKit takes as delivered, with
// {"status": status}.
func writeStatus(w http.ResponseWriter, status string) {
	problem.JSON(w, http.StatusOK, map[string]string{"status": status})
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}
