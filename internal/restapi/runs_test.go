package restapi_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/restapi"
	"github.com/ikq-dev/ikq/tasks"
)

// TestAPIRuns: the runs routes over HTTP against real Redis: the list, one run
// with its counts and failures, its jobs by status a page at a time, the retry of
// its failed jobs and the export of its results.
func TestAPIRuns(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	ctx := t.Context()
	var jobs []*tasks.Job
	for _, name := range []string{"a.jpg", "b.jpg", "c.jpg"} {
		u := e2e.ValidJob(name)
		u.Run = "mig-2"
		jobs = append(jobs, a.Enqueue(t, u))
	}
	// A worker's outcomes: a completed upload, a refused one.
	if _, err := a.Store.Transition(ctx, jobs[0].ID, tasks.StatusActive, "attempt 1", func(j *tasks.Job) error { j.Attempts = 1; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.Transition(ctx, jobs[0].ID, tasks.StatusCompleted, "uploaded", func(j *tasks.Job) error {
		j.Result = json.RawMessage(`{"fileId":"f-a","filePath":"/mig/a.jpg","url":"https://ik.example/mig/a.jpg","size":123}`)
		j.FileID = "f-a"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := a.Store.Transition(ctx, jobs[1].ID, tasks.StatusFailed, "refused", func(j *tasks.Job) error {
		j.Attempts = 1
		j.Error = &tasks.JobError{Code: "upload_rejected", Message: "File type not allowed.", HTTPStatus: 400}
		return nil
	}); err != nil {
		t.Fatal(err)
	}

	var page restapi.RunsPage
	r := a.get(t, "/v1/runs?limit=10")
	r.want(t, http.StatusOK, "application/json")
	if err := json.Unmarshal(r.body, &page); err != nil || len(page.Runs) != 1 || page.Runs[0].ID != "mig-2" || page.Runs[0].Total != 3 {
		t.Fatalf("GET /v1/runs: %s (%v)", r.body, err)
	}

	var run tasks.Run
	r = a.get(t, "/v1/runs/mig-2")
	r.want(t, http.StatusOK, "application/json")
	if err := json.Unmarshal(r.body, &run); err != nil {
		t.Fatal(err)
	}
	if run.Counts != (tasks.RunCounts{Queued: 1, Completed: 1, Failed: 1}) || run.Done ||
		len(run.Failures) != 1 || run.Failures[0].Reason != "File type not allowed." || run.Failures[0].Examples[0].JobID != jobs[1].ID {
		t.Errorf("GET /v1/runs/mig-2: %s", r.body)
	}

	var ups restapi.ListPage
	r = a.get(t, "/v1/runs/mig-2/uploads?limit=2")
	r.want(t, http.StatusOK, "application/json")
	if err := json.Unmarshal(r.body, &ups); err != nil || len(ups.Uploads) != 2 || ups.Uploads[0].ID != jobs[0].ID || ups.NextCursor == "" {
		t.Fatalf("first page of the run's jobs: %s (%v)", r.body, err)
	}
	r = a.get(t, "/v1/runs/mig-2/uploads?limit=2&cursor="+url.QueryEscape(ups.NextCursor))
	ups = restapi.ListPage{}
	if err := json.Unmarshal(r.body, &ups); err != nil || len(ups.Uploads) != 1 || ups.Uploads[0].ID != jobs[2].ID || ups.NextCursor != "" {
		t.Fatalf("second page of the run's jobs: %s (%v)", r.body, err)
	}
	r = a.get(t, "/v1/runs/mig-2/uploads?status=failed")
	ups = restapi.ListPage{}
	if err := json.Unmarshal(r.body, &ups); err != nil || len(ups.Uploads) != 1 || ups.Uploads[0].ID != jobs[1].ID {
		t.Fatalf("the run's failed jobs: %s (%v)", r.body, err)
	}

	// Results: CSV with every column, then JSON lines.
	r = a.get(t, "/v1/runs/mig-2/results")
	r.want(t, http.StatusOK, "text/csv; charset=utf-8")
	rows, err := csv.NewReader(bytes.NewReader(r.body)).ReadAll()
	if err != nil || len(rows) != 4 {
		t.Fatalf("CSV results: %v\n%s", err, r.body)
	}
	wantRows := [][]string{
		{"source", "status", "jobId", "fileId", "filePath", "url", "size", "attempts", "skipped", "error"},
		{"https://example.com/a.jpg", "completed", jobs[0].ID, "f-a", "/mig/a.jpg", "https://ik.example/mig/a.jpg", "123", "1", "false", ""},
		{"https://example.com/b.jpg", "failed", jobs[1].ID, "", "", "", "", "1", "false", "File type not allowed."},
		{"https://example.com/c.jpg", "queued", jobs[2].ID, "", "", "", "", "0", "false", ""},
	}
	for i := range wantRows {
		if strings.Join(rows[i], "|") != strings.Join(wantRows[i], "|") {
			t.Errorf("CSV row %d: %q, want %q", i, rows[i], wantRows[i])
		}
	}
	r = a.get(t, "/v1/runs/mig-2/results?format=jsonl")
	r.want(t, http.StatusOK, "application/x-ndjson")
	lines := strings.Split(strings.TrimSpace(string(r.body)), "\n")
	var first map[string]any
	if len(lines) != 3 || json.Unmarshal([]byte(lines[0]), &first) != nil || first["fileId"] != "f-a" || first["size"] != 123.0 {
		t.Errorf("JSON lines results: %s", r.body)
	}

	r = a.post(t, "/v1/runs/mig-2/retry", "")
	var retried restapi.RunRetried
	r.want(t, http.StatusAccepted, "application/json")
	if err := json.Unmarshal(r.body, &retried); err != nil || retried.Retried != 1 || retried.Run != "mig-2" {
		t.Errorf("POST /v1/runs/mig-2/retry: %s", r.body)
	}
	if j, _ := a.P.Get(ctx, jobs[1].ID); j.Status != tasks.StatusQueued {
		t.Errorf("the failed job after the run's retry: %s, want queued", j.Status)
	}
	if j, _ := a.P.Get(ctx, jobs[0].ID); j.Status != tasks.StatusCompleted {
		t.Errorf("the completed job after the run's retry: %s", j.Status)
	}
}

func TestAPIRunsBadRequests(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	u := e2e.ValidJob("a.jpg")
	u.Run = "r1"
	a.Enqueue(t, u)
	for _, c := range []struct {
		method, path string
		status       int
		slug, field  string
	}{
		{"GET", "/v1/runs/nope", 404, "run-not-found", ""},
		{"GET", "/v1/runs/nope/uploads", 404, "run-not-found", ""},
		{"GET", "/v1/runs/nope/results", 404, "run-not-found", ""},
		{"POST", "/v1/runs/nope/retry", 404, "run-not-found", ""},
		{"GET", "/v1/runs/" + url.PathEscape("bad id"), 404, "run-not-found", ""},
		{"GET", "/v1/runs/" + strings.Repeat("x", 129), 404, "run-not-found", ""},
		{"GET", "/v1/runs?limit=0", 400, "invalid-parameter", "limit"},
		{"GET", "/v1/runs?status=failed", 400, "invalid-parameter", "status"},
		{"GET", "/v1/runs/r1/uploads?status=gone", 400, "invalid-parameter", "status"},
		{"GET", "/v1/runs/r1/uploads?cursor=%01", 400, "invalid-parameter", "cursor"},
		{"GET", "/v1/runs/r1/uploads?limit=1&limit=2", 400, "invalid-parameter", "limit"},
		{"GET", "/v1/runs/r1/results?format=xml", 400, "invalid-parameter", "format"},
		{"POST", "/v1/runs/r1/retry?canceled=maybe", 400, "invalid-parameter", "canceled"},
		{"GET", "/v1/runs/r1?x=1", 400, "invalid-parameter", "x"},
		{"DELETE", "/v1/runs/r1", 405, "method-not-allowed", ""},
	} {
		r := a.do(t, req{method: c.method, path: c.path})
		p := r.problem(t, c.status, c.slug)
		if c.field != "" && (len(p.Errors) != 1 || p.Errors[0].Field != c.field) {
			t.Errorf("%s %s: errors %+v, want one naming %s", c.method, c.path, p.Errors, c.field)
		}
	}
}

// FuzzRunRoutes: whatever the run id and query, the runs routes answer a JSON
// document or a problem, never a 5xx (Redis is up), and change nothing but by a
// retry.
func FuzzRunRoutes(f *testing.F) {
	h, rdb := fuzzAPI(f)
	for _, s := range []string{"r1", "bulk-20261203T044500Z-a1b2c3", "", "%00", "a b", "..", strings.Repeat("z", 200)} {
		f.Add(s, "status=failed&limit=2")
		f.Add(s, "format=jsonl")
		f.Add(s, "cursor=%ff&canceled=true")
	}
	f.Fuzz(func(t *testing.T, id, query string) {
		for _, route := range []string{"GET /v1/runs/%s", "GET /v1/runs/%s/uploads", "GET /v1/runs/%s/results", "POST /v1/runs/%s/retry", "GET /v1/runs"} {
			method, pattern, _ := strings.Cut(route, " ")
			path := strings.Replace(pattern, "%s", url.PathEscape(id), 1) + "?" + query
			req, err := http.NewRequest(method, "http://ikq.test"+path, nil)
			if err != nil {
				continue // not a request a client can send
			}
			keys, _ := rdb.DBSize(t.Context()).Result()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			switch {
			case rec.Code >= 500:
				t.Fatalf("%s %s: %d\n%s", method, path, rec.Code, rec.Body)
			case rec.Code >= 400:
				_ = checkProblem(t, rec.Code, rec.Header(), rec.Body.Bytes())
			}
			if after, _ := rdb.DBSize(t.Context()).Result(); after != keys && method == http.MethodGet {
				t.Fatalf("%s %s wrote to Redis: %d keys, then %d", method, path, keys, after)
			}
		}
	})
}
