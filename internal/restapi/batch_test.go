package restapi_test

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/restapi"
)

// endless is a batch body made on demand: "[", then item(0), item(1), … separated
// by commas, never closed; read counts the bytes taken from it.
type endless struct {
	item func(i int) string
	next int
	buf  []byte
	read int64
}

func (e *endless) Read(p []byte) (int, error) {
	for len(e.buf) == 0 {
		switch e.next {
		case 0:
			e.buf = []byte("[")
		default:
			e.buf = []byte(",")
		}
		e.buf = append(e.buf, e.item(e.next)...)
		e.next++
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	e.read += int64(n)
	return n, nil
}

// TestAPIBatchLimitsTripEarly sends endless batches: each limit answers 413 naming
// itself once it is passed, after reading about that much of the body, not the
// whole body, which is what bounds the memory one batch takes.
func TestAPIBatchLimitsTripEarly(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	h := restapi.New(a.P, restapi.Options{})
	inline := base64.StdEncoding.EncodeToString(make([]byte, 768<<10)) // 1 MiB of base64, under one job's cap
	url := func(i int) string { return jobJSON(fmt.Sprintf("%d.jpg", i)) }
	cases := []struct {
		name     string
		item     func(i int) string
		slug     string
		detail   string
		maxRead  int64
		minItems int
	}{
		{"inline content over the batch's cap", func(i int) string {
			return fmt.Sprintf(`{"file": %q, "fileName": "%d.bin"}`, inline, i)
		}, "batch-too-large", "more than 8 MiB of inline file content (base64, counted up to job 8)", 8<<20 + 3*restapi.DefaultMaxBodyBytes, 8},
		{"data URIs over the batch's cap", func(i int) string {
			return fmt.Sprintf(`{"file": "data:image/png;base64,%s", "fileName": "%d.png"}`, inline, i)
		}, "batch-too-large", "8 MiB of inline file content", 8<<20 + 3*restapi.DefaultMaxBodyBytes, 8},
		{"more jobs than the cap", url, "batch-too-large", "more than 1000 jobs", 1001 * 100, 1000},
		{"one job over a job's cap", func(int) string {
			return `{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "description": "` + strings.Repeat("x", 64<<20)
		}, "body-too-large", "Job 0 of the batch is larger than 2 MiB", 3 * restapi.DefaultMaxBodyBytes, 0},
		{"the body over the batch's cap", func(i int) string {
			return fmt.Sprintf(`{"file": "https://example.com/%d.jpg", "fileName": "a.jpg", "description": "%s"}`, i, strings.Repeat("x", 64<<10))
		}, "body-too-large", "larger than 16 MiB", restapi.DefaultMaxBatchBytes + 1, 200},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			body := &endless{item: c.item}
			r := httptest.NewRequest(http.MethodPost, "/v1/uploads/batch", body)
			r.ContentLength = -1
			r.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			p := reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}.problem(t, http.StatusRequestEntityTooLarge, c.slug)
			if !strings.Contains(p.Detail, c.detail) {
				t.Errorf("detail %q does not say %q", p.Detail, c.detail)
			}
			if body.read > c.maxRead || body.next < c.minItems {
				t.Errorf("read %d bytes (%d jobs made) before refusing, want at most %d", body.read, body.next, c.maxRead)
			}
			t.Logf("refused after reading %.1f MiB", float64(body.read)/(1<<20))
		})
	}
	if jobs := a.AllJobs(t, ""); len(jobs) != 0 {
		t.Errorf("refused batches enqueued %d jobs", len(jobs))
	}
}

// TestAPIBatchMemory decodes a batch of a thousand jobs, close to the body's cap,
// that turns out malformed at its end: what the API allocates for it is about the
// body once, not the copies of reading it whole, checking it, then splitting it.
// Not parallel: the count of allocated bytes is the whole process's.
func TestAPIBatchMemory(t *testing.T) { //nolint:paralleltest // see above
	a := newAPIEnv(t, restapi.Options{})
	h := restapi.New(a.P, restapi.Options{})
	var b strings.Builder
	b.WriteString("[")
	for i := range restapi.DefaultMaxBatch - 1 {
		fmt.Fprintf(&b, `{"file": "https://example.com/%d.jpg", "fileName": "a.jpg", "description": "%s"},`, i, strings.Repeat("x", 15<<10))
	}
	b.WriteString(`{"file": }]`)
	body := b.String()
	run := func() {
		r := httptest.NewRequest(http.MethodPost, "/v1/uploads/batch", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		reply{status: w.Code, header: w.Header(), body: w.Body.Bytes()}.problem(t, http.StatusBadRequest, "malformed-json")
	}
	run() // warm up
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	run()
	runtime.ReadMemStats(&after)
	allocated := after.TotalAlloc - before.TotalAlloc
	t.Logf("a %.1f MiB batch allocated %.1f MiB", float64(len(body))/(1<<20), float64(allocated)/(1<<20))
	if limit := uint64(len(body)) * 3 / 2; allocated > limit {
		t.Errorf("a %d-byte batch allocated %d bytes, want under %d", len(body), allocated, limit)
	}
}

func TestAPIRequireJSON(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	strict := serveAPI(t, a.Env, restapi.Options{RequireJSON: true})
	noType := map[string]string{"Content-Type": ""}
	for _, path := range []string{"/v1/uploads", "/v1/uploads/batch"} {
		body := jobJSON("a.jpg")
		if strings.HasSuffix(path, "batch") {
			body = "[" + body + "]"
		}
		p := strict.do(t, req{method: http.MethodPost, path: path, body: strings.NewReader(body), header: noType}).
			problem(t, http.StatusUnsupportedMediaType, "unsupported-media-type")
		if !strings.Contains(p.Detail, "without a Content-Type") || !strings.Contains(p.Detail, "application/json") {
			t.Errorf("%s: detail %q does not say what is missing", path, p.Detail)
		}
		strict.do(t, req{method: http.MethodPost, path: path, body: strings.NewReader(body),
			header: map[string]string{"Content-Type": "text/plain"}}).problem(t, http.StatusUnsupportedMediaType, "unsupported-media-type")
		strict.post(t, path, body).want(t, okStatus(path), "application/json")
		// Without the option, no Content-Type is JSON.
		a.do(t, req{method: http.MethodPost, path: path, body: strings.NewReader(body), header: noType}).want(t, okStatus(path), "application/json")
	}
}

func okStatus(path string) int {
	if strings.HasSuffix(path, "batch") {
		return http.StatusOK
	}
	return http.StatusAccepted
}
