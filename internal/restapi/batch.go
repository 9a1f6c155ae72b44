package restapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime/debug"

	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/tasks"
)

// POST /v1/uploads/batch
func (a *api) batch(w http.ResponseWriter, r *http.Request) {
	if len(r.Header.Values("Idempotency-Key")) > 0 {
		writeProblem(w, newProblem(http.StatusBadRequest, "invalid-idempotency-key", "Idempotency-Key not allowed here",
			"A batch takes no Idempotency-Key header; give each job its own idempotencyKey in the body.",
			tasks.Problem{Field: "Idempotency-Key", Message: "Idempotency-Key applies to one job; set idempotencyKey on each job of the batch instead."}))
		return
	}
	items, p := a.readBatch(w, r)
	if p != nil {
		writeProblem(w, p)
		return
	}
	// The answer is streamed too, each result written once its job is enqueued:
	// {"results": [...]} as BatchResponse marshals it.
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	_, _ = io.WriteString(w, `{"results":[`)
	results := a.enqueueAll(r, items)
	for i := range items {
		res := <-results[i]
		b, err := json.Marshal(res)
		if err != nil {
			a.log.Error("encoding a batch result", "err", err)
			b, _ = json.Marshal(BatchResult{Error: internalProblem()})
		}
		if i > 0 {
			_, _ = io.WriteString(w, ",")
		}
		// A client gone away does not stop the loop: a batch read whole is enqueued whole.
		_, _ = w.Write(b)
	}
	_, _ = io.WriteString(w, "]}\n")
}

// enqueueAll decodes and enqueues the items and returns a channel per item that
// yields its result, so the answer keeps the batch's order while it streams the
// results of the jobs enqueued so far (producer.Client.EnqueueEach).
func (a *api) enqueueAll(r *http.Request, items []json.RawMessage) []chan BatchResult {
	results := make([]chan BatchResult, len(items))
	for i := range results {
		results[i] = make(chan BatchResult, 1)
	}
	go a.enqueueItems(r.Context(), r, items, results)
	return results
}

// enqueueItems decodes and enqueues items, sending each one's result on its channel
// of results.
func (a *api) enqueueItems(ctx context.Context, r *http.Request, items []json.RawMessage, results []chan BatchResult) {
	sent := make([]bool, len(items))
	defer func() {
		if v := recover(); v != nil {
			a.log.Error("panic enqueueing a batch", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			for i, done := range sent {
				if !done {
					results[i] <- BatchResult{Error: internalProblem()}
				}
			}
		}
	}()
	send := func(i int, res BatchResult) { results[i] <- res; sent[i] = true }
	var (
		uploads []tasks.Upload
		idx     []int // the decoded items, by index in items
	)
	for i, raw := range items {
		u, err := tasks.Decode(raw)
		items[i] = nil // the job is decoded, or refused
		if err != nil {
			send(i, BatchResult{Error: a.problemFor(ctx, r, err)})
			continue
		}
		uploads, idx = append(uploads, *u), append(idx, i)
	}
	for k, res := range a.c.EnqueueEach(ctx, uploads) {
		uploads[k] = tasks.Upload{} // the job is in Redis now
		if res.Err != nil {
			send(idx[k], BatchResult{Error: a.problemFor(ctx, r, res.Err)})
		} else {
			send(idx[k], BatchResult{Job: res.Job})
		}
	}
}

// batchHint says what to do about a batch over a limit.
const batchHint = "split the batch, and put large files behind URLs or in an object store instead of inline"

// readBatch reads the body, a JSON array of jobs, as a stream: one element at a
// time, each kept as the bytes sent, for enqueueItems to decode strictly on its own (so
// one bad job fails alone). Nothing is enqueued before the whole body has been read
// and found well-formed, so a refused batch changes nothing. Each limit trips as
// soon as it is passed, without reading the rest: the body (MaxBatchBytes), one job
// (MaxBodyBytes), the number of jobs (MaxBatch), and the inline content of all the
// jobs together (MaxBatchInlineBytes). What the body holds at once is the elements
// read so far and about two jobs' worth of buffer, never the body twice over.
func (a *api) readBatch(w http.ResponseWriter, r *http.Request) ([]json.RawMessage, *Problem) {
	if p := checkContentType(r, a.opts.RequireJSON); p != nil {
		return nil, p
	}
	if r.ContentLength > a.opts.MaxBatchBytes {
		return nil, bodyTooLarge(a.opts.MaxBatchBytes, batchHint)
	}
	src := &tracker{r: http.MaxBytesReader(w, r.Body, a.opts.MaxBatchBytes), line: 1, col: 1, left: math.MaxInt64}
	dec := json.NewDecoder(src)
	items := []json.RawMessage{}
	// prefix puts a fresh decoder where this one is, to place a syntax error.
	prefix := ""
	fail := func(err error) *Problem { return a.streamProblem(err, src, prefix, len(items)) }

	tok, err := dec.Token()
	if err != nil {
		return nil, fail(err)
	}
	if tok != json.Delim('[') {
		return nil, newProblem(http.StatusBadRequest, "invalid-batch", "Invalid batch",
			`A batch is a JSON array of upload jobs, like [{"file": "https://example.com/a.jpg", "fileName": "a.jpg"}].`)
	}
	prefix = "["
	var inline int64
	for {
		src.mark(dec.InputOffset())
		if !dec.More() {
			break
		}
		if len(items) == a.opts.MaxBatch {
			return nil, newProblem(http.StatusRequestEntityTooLarge, "batch-too-large", "Batch too large",
				fmt.Sprintf("The batch holds more than %d jobs, the most one request may hold; split it.", a.opts.MaxBatch))
		}
		var raw json.RawMessage
		src.left = a.opts.MaxBodyBytes // bounds the decoder's buffer while it reads one job
		err := dec.Decode(&raw)
		src.left = math.MaxInt64
		if err == nil && int64(len(raw)) > a.opts.MaxBodyBytes {
			err = errJobTooLarge
		}
		if err != nil {
			return nil, fail(err)
		}
		if n := inlineLen(raw); n > 0 {
			if inline += n; inline > a.opts.MaxBatchInlineBytes {
				return nil, newProblem(http.StatusRequestEntityTooLarge, "batch-too-large", "Batch too large",
					fmt.Sprintf("The jobs of the batch carry more than %s of inline file content (base64, counted up to job %d), "+
						"the most one request may; %s.", bytesize.Format(a.opts.MaxBatchInlineBytes), len(items), batchHint))
			}
		}
		items = append(items, raw)
		prefix = "[0"
	}
	if _, err := dec.Token(); err != nil { // the closing bracket
		return nil, fail(err)
	}
	// Only white space may follow.
	src.mark(dec.InputOffset())
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var se *json.SyntaxError
		if err != nil && !errors.As(err, &se) {
			return nil, fail(err)
		}
		rest := src.buf
		off := len(rest) - len(bytes.TrimLeft(rest, " \t\r\n"))
		line, col := advance(src.line, src.col, rest[:off])
		return nil, malformedAt(src.base+int64(off), line, col, "unexpected data after the JSON value")
	}
	return items, nil
}

// inlineLen is the length of a job's file when it is inline content, else 0. It
// reads only the file, without the strict decoding enqueueItems does later: a job that
// fails that fails on its own.
func inlineLen(raw json.RawMessage) int64 {
	var probe struct {
		File string `json:"file"`
	}
	if json.Unmarshal(raw, &probe) != nil {
		return 0
	}
	if u := (tasks.Upload{File: probe.File}); u.SourceKind() == tasks.SourceInline {
		return int64(len(u.File))
	}
	return 0
}

// errJobTooLarge: one element of a batch is over MaxBodyBytes.
var errJobTooLarge = errors.New("job too large")

// streamProblem explains an error met reading the batch, whose complete elements
// so far number n.
func (a *api) streamProblem(err error, src *tracker, prefix string, n int) *Problem {
	var mbe *http.MaxBytesError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return bodyTooLarge(a.opts.MaxBatchBytes, batchHint)
	case errors.Is(err, errJobTooLarge):
		return newProblem(http.StatusRequestEntityTooLarge, "body-too-large", "Body too large",
			fmt.Sprintf("Job %d of the batch is larger than %s, the most one job may be; %s.", n, bytesize.Format(a.opts.MaxBodyBytes), batchHint))
	case errors.As(err, &se):
		if src.base == 0 && bytes.HasPrefix(src.buf, []byte("\xef\xbb\xbf")) {
			return malformedAt(0, 1, 1, "the body starts with a UTF-8 byte order mark; send the JSON without one")
		}
		off, why := src.place(prefix)
		line, col := advance(src.line, src.col, src.buf[:off-src.base])
		return malformedAt(off, line, col, why)
	case errors.Is(err, io.EOF) && prefix == "":
		return newProblem(http.StatusBadRequest, "empty-body", "Empty body",
			"The body is empty; send the jobs as a JSON array with Content-Type: application/json.")
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		end := src.base + int64(len(src.buf))
		line, col := advance(src.line, src.col, src.buf)
		return malformedAt(end, line, col, "the body ends before the JSON value does")
	}
	return newProblem(http.StatusBadRequest, "unreadable-body", "Unreadable body",
		"The request body could not be read to its end.")
}

// tracker is the body under a json.Decoder: it keeps the bytes read since the last
// mark, with the line and column where they start, so that an error deep in a
// streamed body is placed by byte offset, line and column as in a body read whole;
// and it refuses to read more than left bytes.
type tracker struct {
	r         io.Reader
	buf       []byte // the body from base to what has been read
	base      int64
	line, col int   // of base, from 1
	left      int64 // bytes Read may still return
}

func (t *tracker) Read(p []byte) (int, error) {
	if t.left <= 0 {
		return 0, errJobTooLarge
	}
	if int64(len(p)) > t.left {
		p = p[:t.left]
	}
	n, err := t.r.Read(p)
	t.buf = append(t.buf, p[:n]...)
	t.left -= int64(n)
	return n, err
}

// mark forgets the bytes before offset off, which the decoder has consumed.
func (t *tracker) mark(off int64) {
	k := int(off - t.base)
	t.line, t.col = advance(t.line, t.col, t.buf[:k])
	t.buf = append(t.buf[:0], t.buf[k:]...)
	t.base = off
}

// place finds the syntax error in the bytes since the mark: a fresh decoder reads
// them after prefix, which leaves it in the state the streaming one was in at the
// mark, and stops at the same byte.
func (t *tracker) place(prefix string) (off int64, why string) {
	dec := json.NewDecoder(io.MultiReader(bytes.NewReader([]byte(prefix)), bytes.NewReader(t.buf)))
	var v json.RawMessage
	err := dec.Decode(&v)
	var se *json.SyntaxError
	if errors.As(err, &se) {
		if rel := se.Offset - 1 - int64(len(prefix)); rel >= 0 && rel <= int64(len(t.buf)) {
			return t.base + rel, se.Error()
		}
	}
	return t.base + int64(len(t.buf)), "the body is not valid JSON"
}
