package restapi

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/ikq-dev/ikq/internal/bulk"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// RunsPage is the answer of GET /v1/runs.
type RunsPage struct {
	Runs       []*tasks.Run `json:"runs"`
	NextCursor string       `json:"nextCursor,omitempty"`
}

// RunRetried is the answer of POST /v1/runs/{id}/retry.
type RunRetried struct {
	Run     string `json:"run"`
	Retried int    `json:"retried"` // jobs queued again
}

// runQuery is what the query string of a runs route may say.
type runQuery struct {
	list     tasks.ListOptions
	format   string
	canceled bool
}

// badCursor is the answer to a cursor no page gave.
const badCursor = "cursor is not a cursor this API gave; pass nextCursor from the previous page as it is."

// badParameter is the 400 for a query parameter; name may be "" (the whole query).
func badParameter(name, msg string) *Problem {
	p := newProblem(http.StatusBadRequest, "invalid-parameter", "Invalid query parameter", msg)
	if name != "" {
		p.Errors = []tasks.Problem{{Field: name, Message: msg}}
	}
	return p
}

// parseQuery reads the query string of a listing route, taking only the parameters
// in allowed, each at most once.
func parseQuery(rawQuery string, allowed ...string) (runQuery, *Problem) {
	var o runQuery
	bad := func(name, msg string) (runQuery, *Problem) { return o, badParameter(name, msg) }
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return bad("", "The query string is not valid URL encoding.")
	}
	for name, vals := range q {
		known := false
		for _, a := range allowed {
			known = known || a == name
		}
		if !known {
			return bad(name, fmt.Sprintf("%q is not a parameter of this route; use %s.", truncate(name), oneOf(allowed)))
		}
		if len(vals) > 1 {
			return bad(name, name+" is given more than once.")
		}
	}
	if s := q.Get("status"); s != "" {
		o.list.Status = tasks.Status(s)
		if !o.list.Status.Valid() {
			names := make([]string, len(allStatuses))
			for i, st := range allStatuses {
				names[i] = string(st)
			}
			return bad("status", fmt.Sprintf("status is %q; it must be one of %s.", truncate(s), strings.Join(names, ", ")))
		}
	}
	if s, ok := q["limit"]; ok {
		n, err := strconv.Atoi(s[0])
		if err != nil || n < 1 || n > tasks.MaxListLimit {
			return bad("limit", fmt.Sprintf("limit is %q; it must be a whole number from 1 to %d (default %d).",
				truncate(s[0]), tasks.MaxListLimit, tasks.DefaultListLimit))
		}
		o.list.Limit = n
	}
	if s := q.Get("cursor"); s != "" {
		if len(s) > maxCursorLen+tasks.MaxRunIDLen || !printable(s) {
			return bad("cursor", badCursor)
		}
		o.list.Cursor = s
	}
	if s, ok := q["format"]; ok {
		switch s[0] {
		case bulk.FormatCSV, bulk.FormatJSONL:
			o.format = s[0]
		default:
			return bad("format", fmt.Sprintf("format is %q; it must be csv or jsonl.", truncate(s[0])))
		}
	}
	if s, ok := q["canceled"]; ok {
		b, err := strconv.ParseBool(s[0])
		if err != nil {
			return bad("canceled", fmt.Sprintf("canceled is %q; it must be true or false.", truncate(s[0])))
		}
		o.canceled = b
	}
	return o, nil
}

// runNotFound is the answer for a run that does not exist.
func runNotFound(id string) *Problem {
	return newProblem(http.StatusNotFound, "run-not-found", "Run not found",
		fmt.Sprintf("No run has the id %q: it never existed, or its jobs finished and expired.", truncate(id)))
}

// runFailure answers an error of a route naming one run.
func (a *api) runFailure(w http.ResponseWriter, r *http.Request, id string, err error) {
	if errors.Is(err, tasks.ErrRunNotFound) {
		writeProblem(w, runNotFound(id))
		return
	}
	writeFailure(w, a.problemFor(r.Context(), r, err))
}

// runID is the run id of the path, or a 404 when it cannot name a run.
func runID(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := r.PathValue("id")
	if !tasks.ValidRunID(id) {
		writeProblem(w, runNotFound(id))
		return "", false
	}
	return id, true
}

// GET /v1/runs
func (a *api) listRuns(w http.ResponseWriter, r *http.Request) {
	q, p := parseQuery(r.URL.RawQuery, "limit", "cursor")
	if p != nil {
		writeProblem(w, p)
		return
	}
	runs, next, err := a.c.Runs(r.Context(), tasks.RunListOptions{Limit: q.list.Limit, Cursor: q.list.Cursor})
	if err != nil {
		writeFailure(w, a.problemFor(r.Context(), r, err))
		return
	}
	if runs == nil {
		runs = []*tasks.Run{}
	}
	writeJSON(w, http.StatusOK, RunsPage{Runs: runs, NextCursor: next})
}

// GET /v1/runs/{id}
func (a *api) getRun(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	if _, p := parseQuery(r.URL.RawQuery); p != nil {
		writeProblem(w, p)
		return
	}
	run, err := a.c.Run(r.Context(), id)
	if err != nil {
		a.runFailure(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusOK, run)
}

// GET /v1/runs/{id}/uploads
func (a *api) runUploads(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	q, p := parseQuery(r.URL.RawQuery, "status", "limit", "cursor")
	if p != nil {
		writeProblem(w, p)
		return
	}
	jobs, next, err := a.c.RunJobs(r.Context(), id, q.list)
	if err != nil {
		a.runFailure(w, r, id, err)
		return
	}
	if jobs == nil {
		jobs = []*tasks.Job{}
	}
	writeJSON(w, http.StatusOK, ListPage{Uploads: jobs, NextCursor: next})
}

// POST /v1/runs/{id}/retry
func (a *api) retryRun(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	q, p := parseQuery(r.URL.RawQuery, "canceled")
	if p != nil {
		writeProblem(w, p)
		return
	}
	n, err := a.c.RetryRun(r.Context(), id, producer.RetryRunOptions{Canceled: q.canceled})
	if errors.Is(err, producer.ErrStillStopping) {
		p := newProblem(http.StatusConflict, "still-stopping", "Some jobs of the run are still stopping",
			fmt.Sprintf("%d jobs of run %s were queued again; others were canceled while they ran and their workers have not let go of them yet: retry in a few seconds.", n, truncate(id)))
		w.Header().Set("Retry-After", "2")
		writeProblem(w, p)
		return
	}
	if err != nil {
		a.runFailure(w, r, id, err)
		return
	}
	writeJSON(w, http.StatusAccepted, RunRetried{Run: id, Retried: n})
}

// GET /v1/runs/{id}/results: every job's result, streamed a page at a time, in the
// format ikq bulk -results and ikq results write.
func (a *api) runResults(w http.ResponseWriter, r *http.Request) {
	id, ok := runID(w, r)
	if !ok {
		return
	}
	q, p := parseQuery(r.URL.RawQuery, "format")
	if p != nil {
		writeProblem(w, p)
		return
	}
	if q.format == "" {
		q.format = bulk.FormatCSV
	}
	run, err := a.c.Run(r.Context(), id)
	if err != nil {
		a.runFailure(w, r, id, err)
		return
	}
	ct, ext := "text/csv; charset=utf-8", "csv"
	if q.format == bulk.FormatJSONL {
		ct, ext = "application/x-ndjson", "jsonl"
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%s.%s"`, id, ext))
	rw, err := bulk.NewResultWriter(w, q.format)
	if err != nil { // the format was checked
		writeFailure(w, a.problemFor(r.Context(), r, err))
		return
	}
	if _, err := bulk.Export(r.Context(), run, a.c.RunJobs, rw); err != nil {
		// The status is sent: the body ends short, which the client sees as a
		// broken transfer rather than a complete file.
		a.log.Warn("REST API: exporting a run's results stopped", "run", id, "err", err)
		panic(http.ErrAbortHandler)
	}
}

// oneOf lists names as "a, b or c".
func oneOf(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}
