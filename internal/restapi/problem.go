package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/problem"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/tasks"
)

// ProblemTypeBase prefixes the type of every problem the REST API answers with; the
// rest is a slug such as "invalid-job" or "job-not-found".
const ProblemTypeBase = problem.TypeBase

// Problem is an RFC 9457 problem detail: the body of every error answer of the REST
// API (Content-Type application/problem+json), and the "error" of a failed batch
// element.
type Problem struct {
	Type   string `json:"type"`   // ProblemTypeBase + slug; clients switch on it
	Title  string `json:"title"`  // the same for every problem of a type
	Status int    `json:"status"` // the HTTP status code
	Detail string `json:"detail"` // this occurrence, in a sentence
	// Errors lists each bad field of the job, with its JSON path ("tags",
	// "extensions[1].maxTags") or query parameter, and what is wrong with it.
	Errors []tasks.Problem `json:"errors,omitempty"`
	// JobStatus is the job's current status when the job cannot make the move asked
	// for (cancel, retry).
	JobStatus tasks.Status `json:"jobStatus,omitempty"`
}

// Error makes a Problem usable as an error by Go clients that decode it.
func (p *Problem) Error() string { return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail) }

func newProblem(status int, slug, title, detail string, errs ...tasks.Problem) *Problem {
	return &Problem{Type: ProblemTypeBase + slug, Title: title, Status: status, Detail: detail, Errors: errs}
}

// writeProblem answers with p as application/problem+json.
func writeProblem(w http.ResponseWriter, p *Problem) {
	w.Header().Del("Location")
	problem.Write(w, p.Status, p)
}

// writeJSON answers with v as application/json.
func writeJSON(w http.ResponseWriter, status int, v any) { problem.JSON(w, status, v) }

func internalProblem() *Problem {
	return newProblem(http.StatusInternalServerError, "internal", "Internal error",
		"The server failed to handle the request; the error is logged. Try again later.")
}

func unavailableProblem() *Problem {
	return newProblem(http.StatusServiceUnavailable, "unavailable", "Service unavailable",
		"ikq cannot reach its Redis right now; nothing was changed. Retry after a second.")
}

// jobProblem turns a job the client sent that does not decode or validate into a
// 400 naming its fields; ok is false for any other error.
func jobProblem(err error) (p *Problem, ok bool) {
	var de *tasks.DecodeError
	if errors.As(err, &de) {
		var errs []tasks.Problem
		if de.Field != "" {
			errs = []tasks.Problem{{Field: de.Field, Message: de.Message}}
		}
		return newProblem(http.StatusBadRequest, "invalid-job", "Invalid upload job",
			sentence("The upload job is not of the right shape: "+de.Error()), errs...), true
	}
	var ve *tasks.ValidationError
	if errors.As(err, &ve) {
		detail := "The upload job breaks 1 rule; see errors."
		if n := len(ve.Problems); n != 1 {
			detail = fmt.Sprintf("The upload job breaks %d rules; see errors.", n)
		}
		if len(ve.Problems) == 1 && ve.Problems[0].Field == "" {
			detail = ve.Problems[0].Message
		}
		return newProblem(http.StatusBadRequest, "invalid-job", "Invalid upload job", detail, ve.Problems...), true
	}
	return nil, false
}

// syntaxProblem explains why body is not exactly one JSON value, with the byte
// offset (0-based) and line and column (1-based) where it goes wrong; nil when it is.
func syntaxProblem(body []byte) *Problem {
	if json.Valid(body) {
		return nil
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return emptyBodyProblem()
	}
	if bytes.HasPrefix(body, []byte("\xef\xbb\xbf")) {
		return malformed(body, 0, "the body starts with a UTF-8 byte order mark; send the JSON without one")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var v json.RawMessage
	err := dec.Decode(&v)
	var se *json.SyntaxError
	switch {
	case err == nil: // one good value, then more
		off := dec.InputOffset()
		rest := body[off:]
		off += int64(len(rest) - len(bytes.TrimLeft(rest, " \t\r\n")))
		return malformed(body, off, "unexpected data after the JSON value")
	case errors.As(err, &se):
		return malformed(body, max(se.Offset-1, 0), se.Error())
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return malformed(body, int64(len(body)), "the body ends before the JSON value does")
	}
	return malformed(body, 0, "the body is not valid JSON")
}

func malformed(body []byte, off int64, why string) *Problem {
	off = min(max(off, 0), int64(len(body)))
	line, col := advance(1, 1, body[:off])
	return malformedAt(off, line, col, why)
}

// malformedAt is malformed where the caller placed the error itself.
func malformedAt(off int64, line, col int, why string) *Problem {
	return newProblem(http.StatusBadRequest, "malformed-json", "Malformed JSON",
		fmt.Sprintf("The body is not valid JSON: %s, at byte offset %d (line %d, column %d).", why, off, line, col))
}

// advance moves a line and column (1-based) over b.
func advance(line, col int, b []byte) (int, int) {
	for _, c := range b {
		if c == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	return line, col
}

// sentence ends s with a full stop unless it already ends a sentence.
func sentence(s string) string {
	if strings.HasSuffix(s, ".") || strings.HasSuffix(s, "?") || strings.HasSuffix(s, "!") {
		return s
	}
	return s + "."
}

func emptyBodyProblem() *Problem {
	return newProblem(http.StatusBadRequest, "empty-body", "Empty body",
		"The body is empty; send the upload job as a JSON object with Content-Type: application/json.")
}

// unavailable reports whether err looks like Redis being out of reach, failing over
// or busy for a moment: worth a 503 and a retry rather than a 500.
func unavailable(err error) bool {
	return redisurl.NodeDown(err) ||
		errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, redis.ErrPoolTimeout) || errors.Is(err, redis.ErrPoolExhausted) ||
		redis.IsMaxClientsError(err) ||
		errors.Is(err, tasks.ErrNotReplicated) || // replicas did not confirm a new job: a retry with its key finds it
		errors.Is(err, tasks.ErrQueueUnavailable) || // asynq's Redis did not take the task
		errors.Is(err, tasks.ErrConflict) // writers raced too long: a retry wins
}
