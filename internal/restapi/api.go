package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"

	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// Defaults of Options.
const (
	// DefaultMaxBodyBytes bounds the body of one job: inline content is capped at
	// 1 MiB decoded (tasks.DefaultMaxInlineBytes), which base64 grows by a third.
	DefaultMaxBodyBytes = 2 << 20
	// DefaultMaxBatchBytes bounds the body of a batch: a thousand jobs that name
	// their files take far less, and inline content has its own, smaller, cap.
	DefaultMaxBatchBytes = 16 << 20
	// DefaultMaxBatchInlineBytes bounds the inline (base64) file content of all the
	// jobs of one batch together, as sent: queues carry references, not bytes.
	DefaultMaxBatchInlineBytes = 8 << 20
	// DefaultMaxBatch is the most jobs one batch may hold.
	DefaultMaxBatch = 1000
)

// Options configure the REST API. Zero values mean defaults.
type Options struct {
	MaxBodyBytes        int64 // one job, alone or in a batch: default DefaultMaxBodyBytes (2 MiB)
	MaxBatchBytes       int64 // a batch: default DefaultMaxBatchBytes (16 MiB)
	MaxBatchInlineBytes int64 // inline content of a batch: default DefaultMaxBatchInlineBytes (8 MiB)
	MaxBatch            int   // jobs in a batch: default DefaultMaxBatch (1000)
	// RequireJSON refuses bodies sent without Content-Type: application/json (415).
	// A web page can post a body without one and no preflight; the API sets it when
	// it serves without tokens.
	RequireJSON bool
	// Logger logs the failures behind 5xx answers; default: discard.
	Logger *slog.Logger
}

// New returns the REST API of the producer p (see the package documentation): the
// routes under /v1/uploads, with errors as application/problem+json. It does no
// authentication: mount it behind the API's guard.
func New(p *producer.Client, opts Options) http.Handler {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if opts.MaxBatchBytes <= 0 {
		opts.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if opts.MaxBatchInlineBytes <= 0 {
		opts.MaxBatchInlineBytes = DefaultMaxBatchInlineBytes
	}
	if opts.MaxBatch <= 0 {
		opts.MaxBatch = DefaultMaxBatch
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	a := &api{c: p, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	a.mux.HandleFunc("POST /v1/uploads", a.create)
	a.mux.HandleFunc("POST /v1/uploads/batch", a.batch)
	a.mux.HandleFunc("GET /v1/uploads", a.list)
	a.mux.HandleFunc("GET /v1/uploads/{id}", a.get)
	a.mux.HandleFunc("POST /v1/uploads/{id}/cancel", a.cancel)
	a.mux.HandleFunc("POST /v1/uploads/{id}/retry", a.retry)
	a.mux.HandleFunc("GET /v1/runs", a.listRuns)
	a.mux.HandleFunc("GET /v1/runs/{id}", a.getRun)
	a.mux.HandleFunc("GET /v1/runs/{id}/uploads", a.runUploads)
	a.mux.HandleFunc("POST /v1/runs/{id}/retry", a.retryRun)
	a.mux.HandleFunc("GET /v1/runs/{id}/results", a.runResults)
	return a
}

type api struct {
	c    *producer.Client
	opts Options
	log  *slog.Logger
	mux  *http.ServeMux
}

// ListPage is the answer of GET /v1/uploads.
type ListPage struct {
	Uploads []*tasks.Job `json:"uploads"`
	// NextCursor, given as cursor, reads the next page; empty after the last.
	NextCursor string `json:"nextCursor,omitempty"`
}

// BatchResponse is the answer of POST /v1/uploads/batch: one result per job, in
// the order of the request.
type BatchResponse struct {
	Results []BatchResult `json:"results"`
}

// BatchResult is the job record when the job was enqueued (or an earlier job its
// idempotencyKey named), else {"error": problem}. A record always has an id, an
// error result never: a failed job's record has an "error" member too.
type BatchResult struct {
	Job   *tasks.Job
	Error *Problem
}

// MarshalJSON writes the record itself, or {"error": …}.
func (r BatchResult) MarshalJSON() ([]byte, error) {
	if r.Error != nil {
		return json.Marshal(struct {
			Error *Problem `json:"error"`
		}{r.Error})
	}
	return json.Marshal(r.Job)
}

// UnmarshalJSON reads either form.
func (r *BatchResult) UnmarshalJSON(data []byte) error {
	var probe struct {
		ID    string   `json:"id"`
		Error *Problem `json:"error"`
	}
	if err := json.Unmarshal(data, &probe); err != nil && !isTypeError(err) {
		return err
	}
	if probe.ID == "" {
		if probe.Error == nil {
			return errors.New(`producer: batch result is neither a job record nor {"error": problem}`)
		}
		*r = BatchResult{Error: probe.Error}
		return nil
	}
	var job tasks.Job
	if err := json.Unmarshal(data, &job); err != nil {
		return err
	}
	*r = BatchResult{Job: &job}
	return nil
}

// isTypeError: a record's "error" is a JobError, which does not fit a Problem.
func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

func (a *api) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	defer a.recoverPanic(w, r)
	if h, pattern := a.mux.Handler(r); pattern == "" {
		a.unrouted(w, r, h)
		return
	}
	a.mux.ServeHTTP(w, r)
}

// unrouted answers a request no route takes: the mux's own 404 and 405 answers are
// plain text, so they are replaced by problems (keeping Allow).
func (a *api) unrouted(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &headerRecorder{header: http.Header{}}
	h.ServeHTTP(probe, r)
	switch probe.status {
	case http.StatusMethodNotAllowed:
		allow := probe.header.Get("Allow")
		w.Header().Set("Allow", allow)
		writeProblem(w, newProblem(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
			fmt.Sprintf("%s is not served at %s; use %s.", r.Method, r.URL.Path, allow)))
	case http.StatusNotFound:
		writeProblem(w, newProblem(http.StatusNotFound, "not-found", "Not found",
			fmt.Sprintf("No route %s %s; the API's routes are in /openapi.json.", r.Method, r.URL.Path)))
	default: // a redirect to the cleaned path
		h.ServeHTTP(w, r)
	}
}

// headerRecorder keeps only the header and status a handler writes.
type headerRecorder struct {
	header http.Header
	status int
}

func (h *headerRecorder) Header() http.Header { return h.header }
func (h *headerRecorder) Write(b []byte) (int, error) {
	if h.status == 0 {
		h.status = http.StatusOK
	}
	return len(b), nil
}
func (h *headerRecorder) WriteHeader(status int) {
	if h.status == 0 {
		h.status = status
	}
}

// recoverPanic turns a panic, always a bug, into a logged 500 instead of a dropped
// connection.
func (a *api) recoverPanic(w http.ResponseWriter, r *http.Request) {
	v := recover()
	if v == nil {
		return
	}
	if err, ok := v.(error); ok && errors.Is(err, http.ErrAbortHandler) {
		panic(v)
	}
	a.log.Error("panic serving the REST API", "method", r.Method, "path", r.URL.Path,
		"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
	writeProblem(w, internalProblem())
}

// problemFor turns an error of the client or the store into a problem: the
// client's mistakes as 4xx, Redis failures as 503 (retry) or 500, logged and never
// echoed.
func (a *api) problemFor(ctx context.Context, r *http.Request, err error) *Problem {
	if p, ok := jobProblem(err); ok {
		return p
	}
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		// The client went away; nobody reads the answer.
		a.log.Debug("REST API request canceled by the client", "method", r.Method, "path", r.URL.Path)
		return unavailableProblem()
	}
	if unavailable(err) {
		a.log.Warn("REST API: Redis unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
		return unavailableProblem()
	}
	a.log.Error("REST API: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	return internalProblem()
}

// writeFailure writes p, telling clients when to retry a 503.
func writeFailure(w http.ResponseWriter, p *Problem) {
	if p.Status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", "1")
	}
	writeProblem(w, p)
}

// POST /v1/uploads
func (a *api) create(w http.ResponseWriter, r *http.Request) {
	key, p := idempotencyHeader(r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	body, p := readBody(w, r, a.opts.MaxBodyBytes, a.opts.RequireJSON, "put large files behind a URL or in an object store instead of inline")
	if p != nil {
		writeProblem(w, p)
		return
	}
	u, p := decodeJob(body)
	if p != nil {
		writeProblem(w, p)
		return
	}
	if key != "" {
		if u.IdempotencyKey != "" && u.IdempotencyKey != key {
			writeProblem(w, newProblem(http.StatusBadRequest, "invalid-idempotency-key", "Conflicting idempotency keys",
				"The Idempotency-Key header and the body's idempotencyKey differ; send one, or the same in both.",
				tasks.Problem{Field: "idempotencyKey", Message: "idempotencyKey in the body differs from the Idempotency-Key header."}))
			return
		}
		u.IdempotencyKey = key
	}
	res := a.c.Submit(r.Context(), *u)
	if res.Err != nil {
		writeFailure(w, a.problemFor(r.Context(), r, res.Err))
		return
	}
	job := res.Job
	w.Header().Set("Location", "/v1/uploads/"+url.PathEscape(job.ID))
	status := http.StatusAccepted
	if res.Existed {
		status = http.StatusOK
	}
	writeJSON(w, status, job)
}

// GET /v1/uploads
func (a *api) list(w http.ResponseWriter, r *http.Request) {
	opts, p := listOptions(r.URL.RawQuery)
	if p != nil {
		writeProblem(w, p)
		return
	}
	jobs, next, err := a.c.List(r.Context(), opts)
	if err != nil {
		writeFailure(w, a.problemFor(r.Context(), r, err))
		return
	}
	if jobs == nil {
		jobs = []*tasks.Job{}
	}
	writeJSON(w, http.StatusOK, ListPage{Uploads: jobs, NextCursor: next})
}

// allStatuses are the values of the status parameter, in the order of a job's life.
var allStatuses = tasks.Statuses()

const maxCursorLen = 128

func listOptions(rawQuery string) (tasks.ListOptions, *Problem) {
	q, p := parseQuery(rawQuery, "status", "limit", "cursor")
	if p != nil {
		return tasks.ListOptions{}, p
	}
	if len(q.list.Cursor) > maxCursorLen { // a job id, where a run's cursor also names the run
		return tasks.ListOptions{}, badParameter("cursor", badCursor)
	}
	return q.list, nil
}

// GET /v1/uploads/{id}
func (a *api) get(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, err := a.c.Get(r.Context(), id)
	if err != nil {
		a.jobFailure(w, r, id, err, "")
		return
	}
	writeJSON(w, http.StatusOK, job)
}

// POST /v1/uploads/{id}/cancel
func (a *api) cancel(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, err := a.c.Cancel(r.Context(), id)
	if err != nil {
		a.jobFailure(w, r, id, err, "only jobs not yet uploaded (queued, active or retrying) can be canceled")
		return
	}
	writeJSON(w, http.StatusOK, job)
}

// POST /v1/uploads/{id}/retry
func (a *api) retry(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	job, err := a.c.Retry(r.Context(), id)
	if errors.Is(err, producer.ErrStillStopping) {
		p := newProblem(http.StatusConflict, "still-stopping", "Upload job is still stopping",
			fmt.Sprintf("Upload job %s was canceled while it ran, and its worker has not let go of it yet; retry in a few seconds.", truncate(id)))
		p.JobStatus = tasks.StatusCanceled
		w.Header().Set("Retry-After", "2")
		writeProblem(w, p)
		return
	}
	if err != nil {
		a.jobFailure(w, r, id, err, "only failed or canceled jobs can be retried")
		return
	}
	writeJSON(w, http.StatusAccepted, job)
}

// jobFailure answers an error of a route naming one job: 404 when there is no such
// job, 409 (with rule) when the job is not in a status that allows the move.
func (a *api) jobFailure(w http.ResponseWriter, r *http.Request, id string, err error, rule string) {
	var te *tasks.TransitionError
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		writeProblem(w, newProblem(http.StatusNotFound, "job-not-found", "Upload job not found",
			fmt.Sprintf("No upload job has the id %q: it never existed, or it finished and expired.", truncate(id))))
	case errors.As(err, &te) && rule != "":
		slug, title := "cannot-cancel", "Upload job cannot be canceled"
		if te.To == tasks.StatusQueued {
			slug, title = "cannot-retry", "Upload job cannot be retried"
		}
		p := newProblem(http.StatusConflict, slug, title,
			fmt.Sprintf("Upload job %s is %s; %s.", te.ID, te.From, rule))
		p.JobStatus = te.From
		writeProblem(w, p)
	default:
		writeFailure(w, a.problemFor(r.Context(), r, err))
	}
}

// readBody reads a request body of at most limit bytes, refusing bodies that are
// not JSON (415), too large (413, with hint on what to do), unreadable or empty (400).
func readBody(w http.ResponseWriter, r *http.Request, limit int64, requireJSON bool, hint string) ([]byte, *Problem) {
	if p := checkContentType(r, requireJSON); p != nil {
		return nil, p
	}
	tooLarge := bodyTooLarge(limit, hint)
	if r.ContentLength > limit {
		return nil, tooLarge
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return nil, tooLarge
	case err != nil:
		return nil, newProblem(http.StatusBadRequest, "unreadable-body", "Unreadable body",
			"The request body could not be read to its end.")
	case len(bytes.TrimSpace(body)) == 0:
		return nil, emptyBodyProblem()
	}
	return body, nil
}

func bodyTooLarge(limit int64, hint string) *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Body too large",
		fmt.Sprintf("The body is larger than %s, the most this route accepts; %s.", bytesize.Format(limit), hint))
}

// checkContentType accepts application/json in UTF-8, without a content coding, or
// no Content-Type unless required.
func checkContentType(r *http.Request, required bool) *Problem {
	unsupported := func(detail string) *Problem {
		return newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type", detail)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "" && !strings.EqualFold(ce, "identity") {
		return unsupported(fmt.Sprintf("The body is sent with Content-Encoding %q; send it uncompressed.", truncate(ce)))
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		if required {
			return unsupported("The body is sent without a Content-Type; send JSON with Content-Type: application/json. " +
				"This API serves without tokens (IKQ_API_TOKENS), so it refuses bodies a web page could post to it without one.")
		}
		return nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/json" {
		return unsupported(fmt.Sprintf("The body is sent as %q; send JSON with Content-Type: application/json.", truncate(ct)))
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return unsupported(fmt.Sprintf("The body is sent in charset %q; JSON must be UTF-8.", truncate(cs)))
	}
	return nil
}

// decodeJob reads one job strictly: malformed JSON names the byte offset, wrong
// types and unknown fields name the field.
func decodeJob(body []byte) (*tasks.Upload, *Problem) {
	if p := syntaxProblem(body); p != nil {
		return nil, p
	}
	u, err := tasks.Decode(body)
	if err != nil {
		if p, ok := jobProblem(err); ok {
			return nil, p
		}
		return nil, newProblem(http.StatusBadRequest, "invalid-job", "Invalid upload job", "The upload job could not be read.")
	}
	return u, nil
}

// idempotencyHeader returns the Idempotency-Key header, "" when absent.
func idempotencyHeader(r *http.Request) (string, *Problem) {
	vals := r.Header.Values("Idempotency-Key")
	switch {
	case len(vals) == 0:
		return "", nil
	case len(vals) > 1:
		return "", newProblem(http.StatusBadRequest, "invalid-idempotency-key", "Repeated Idempotency-Key",
			"The Idempotency-Key header is given more than once; give it once.",
			tasks.Problem{Field: "idempotencyKey", Message: "Idempotency-Key is given more than once."})
	}
	return strings.TrimSpace(vals[0]), nil
}

// truncate shortens what a client sent before it is quoted back in a message.
func truncate(s string) string {
	const n = 64
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func printable(s string) bool {
	for i := range len(s) {
		if s[i] <= 0x20 || s[i] >= 0x7f {
			return false
		}
	}
	return true
}
