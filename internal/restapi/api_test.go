package restapi_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/internal/restapi"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// apiEnv is one test's producer served over HTTP on loopback.
type apiEnv struct {
	*e2e.Env
	srv *httptest.Server
	log *ikqtest.LockedBuffer
}

func newAPIEnv(t *testing.T, opts restapi.Options) *apiEnv {
	t.Helper()
	e := e2e.NewEnv(t, producer.Config{})
	return serveAPI(t, e, opts)
}

func serveAPI(t *testing.T, e *e2e.Env, opts restapi.Options) *apiEnv {
	t.Helper()
	lb := &ikqtest.LockedBuffer{}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(lb, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	srv := httptest.NewServer(restapi.New(e.P, opts))
	t.Cleanup(srv.Close)
	return &apiEnv{Env: e, srv: srv, log: lb}
}

// reply is an HTTP answer, read whole.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// req is one request to the API.
type req struct {
	method, path string
	body         io.Reader // nil: no body
	header       map[string]string
}

func (a *apiEnv) do(t *testing.T, r req) reply {
	t.Helper()
	hr, err := http.NewRequestWithContext(t.Context(), r.method, a.srv.URL+r.path, r.body)
	if err != nil {
		t.Fatalf("NewRequest(%s %s): %v", r.method, r.path, err)
	}
	if r.body != nil {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.header {
		if v == "" {
			hr.Header.Del(k)
			continue
		}
		hr.Header.Set(k, v)
	}
	resp, err := a.srv.Client().Do(hr)
	if err != nil {
		t.Fatalf("%s %s: %v", r.method, r.path, err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the answer: %v", r.method, r.path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}
}

func (a *apiEnv) post(t *testing.T, path, body string) reply {
	t.Helper()
	return a.do(t, req{method: http.MethodPost, path: path, body: strings.NewReader(body)})
}

func (a *apiEnv) get(t *testing.T, path string) reply {
	t.Helper()
	return a.do(t, req{method: http.MethodGet, path: path})
}

// record checks that r is a JSON job record with the given status code and returns it.
func (r reply) record(t *testing.T, status int) *tasks.Job {
	t.Helper()
	r.want(t, status, "application/json")
	var job tasks.Job
	if err := json.Unmarshal(r.body, &job); err != nil || job.ID == "" {
		t.Fatalf("answer is not a job record (%v):\n%s", err, r.body)
	}
	return &job
}

func (r reply) want(t *testing.T, status int, contentType string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != contentType {
		t.Fatalf("Content-Type %q, want %q", ct, contentType)
	}
}

// problem checks that r is an RFC 9457 problem with the given status and slug and
// returns it.
func (r reply) problem(t *testing.T, status int, slug string) *restapi.Problem {
	t.Helper()
	p := checkProblem(t, r.status, r.header, r.body)
	if r.status != status || p.Type != restapi.ProblemTypeBase+slug {
		t.Fatalf("answer %d %s, want %d %s%s; body:\n%s", r.status, p.Type, status, restapi.ProblemTypeBase, slug, r.body)
	}
	return p
}

// checkProblem checks the shape every problem answer has.
func checkProblem(t testing.TB, status int, header http.Header, body []byte) *restapi.Problem {
	t.Helper()
	if ct := header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("%d answer has Content-Type %q, want application/problem+json; body:\n%s", status, ct, body)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var p restapi.Problem
	if err := dec.Decode(&p); err != nil {
		t.Fatalf("%d answer is not a problem: %v\n%s", status, err, body)
	}
	if p.Status != status || !strings.HasPrefix(p.Type, restapi.ProblemTypeBase) || len(p.Type) == len(restapi.ProblemTypeBase) ||
		p.Title == "" || p.Detail == "" {
		t.Fatalf("%d answer: problem lacks status %d, an ikq type, a title or a detail:\n%s", status, status, body)
	}
	for _, e := range p.Errors {
		if e.Message == "" {
			t.Fatalf("problem names field %q without a message:\n%s", e.Field, body)
		}
	}
	if header.Get("Location") != "" {
		t.Fatalf("a problem answer has a Location header")
	}
	return &p
}

func fields(p *restapi.Problem) []string {
	var out []string
	for _, e := range p.Errors {
		out = append(out, e.Field)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// jobJSON is the JSON of a valid job spec for file name name.
func jobJSON(name string) string {
	return fmt.Sprintf(`{"file": "https://example.com/%s", "fileName": %q}`, name, name)
}

// storedJSON is the record the store holds, as the API must answer it.
func (a *apiEnv) storedJSON(t *testing.T, id string) string {
	t.Helper()
	return e2e.MustJSON(t, a.MustGet(t, id))
}

func sameJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("answer is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Fatalf("answer\n%s\nwant\n%s", got, want)
	}
}

func TestAPICreate(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	r := a.post(t, "/v1/uploads", `{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "tags": "summer, beach",
		"queue": "low", "maxAttempts": 3, "extensions": [{"name": "google-auto-tagging", "minConfidence": 80, "maxTags": 5}]}`)
	job := r.record(t, http.StatusAccepted)
	if loc := r.header.Get("Location"); loc != "/v1/uploads/"+job.ID {
		t.Errorf("Location = %q, want /v1/uploads/%s", loc, job.ID)
	}
	if job.Status != tasks.StatusQueued || job.Queue != tasks.QueueLow || job.MaxAttempts != 3 || job.Attempts != 0 {
		t.Errorf("record: status %s, queue %s, maxAttempts %d, attempts %d; want queued, low, 3, 0", job.Status, job.Queue, job.MaxAttempts, job.Attempts)
	}
	if got := e2e.Request(t, job); got["fileName"] != "a.jpg" || fmt.Sprint(got["tags"]) != "[summer beach]" {
		t.Errorf("record's request = %v, want fileName a.jpg and tags [summer beach]", got)
	}
	sameJSON(t, r.body, a.storedJSON(t, job.ID))
	info := a.Task(t, tasks.QueueLow, job.ID)
	if info.Type != tasks.TypeUpload || info.MaxRetry != 2 {
		t.Errorf("task: type %s, MaxRetry %d; want %s, 2", info.Type, info.MaxRetry, tasks.TypeUpload)
	}

	// What Location names is the record.
	got := a.get(t, r.header.Get("Location"))
	got.record(t, http.StatusOK)
	sameJSON(t, got.body, string(r.body))

	// Content-Type may be left out, or carry charset=utf-8.
	a.do(t, req{method: http.MethodPost, path: "/v1/uploads", body: strings.NewReader(jobJSON("b.jpg")),
		header: map[string]string{"Content-Type": ""}}).record(t, http.StatusAccepted)
	a.do(t, req{method: http.MethodPost, path: "/v1/uploads", body: strings.NewReader(jobJSON("c.jpg")),
		header: map[string]string{"Content-Type": "application/json; charset=UTF-8"}}).record(t, http.StatusAccepted)
}

func TestAPICreateIdempotent(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	withKey := func(key, body string) reply {
		return a.do(t, req{method: http.MethodPost, path: "/v1/uploads", body: strings.NewReader(body),
			header: map[string]string{"Idempotency-Key": key}})
	}
	first := withKey("order-17", jobJSON("a.jpg")).record(t, http.StatusAccepted)
	if first.IdempotencyKey != "order-17" {
		t.Errorf("record's idempotencyKey = %q, want the header's order-17", first.IdempotencyKey)
	}

	again := withKey("order-17", jobJSON("a.jpg"))
	job := again.record(t, http.StatusOK)
	if job.ID != first.ID {
		t.Fatalf("repeat with the key gave job %s, want %s", job.ID, first.ID)
	}
	if loc := again.header.Get("Location"); loc != "/v1/uploads/"+first.ID {
		t.Errorf("repeat: Location = %q, want /v1/uploads/%s", loc, first.ID)
	}
	// The same key in the body, and in both, is the same job.
	a.post(t, "/v1/uploads", `{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "idempotencyKey": "order-17"}`).record(t, http.StatusOK)
	same := withKey("order-17", `{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "idempotencyKey": "order-17"}`).record(t, http.StatusOK)
	if same.ID != first.ID {
		t.Errorf("key in header and body gave job %s, want %s", same.ID, first.ID)
	}
	// Another key is another job.
	if other := withKey("order-18", jobJSON("a.jpg")).record(t, http.StatusAccepted); other.ID == first.ID {
		t.Errorf("another key returned job %s again", other.ID)
	}
	if jobs := a.AllJobs(t, ""); len(jobs) != 2 {
		t.Errorf("%d jobs, want 2", len(jobs))
	}
	if n := a.TaskCount(t); n != 2 {
		t.Errorf("%d tasks, want 2", n)
	}
}

func TestAPIBatch(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	body := `[` + jobJSON("a.jpg") + `,
		{"fileName": "b.jpg"},
		` + jobJSON("c.jpg") + `,
		{"file": "https://example.com/d.jpg", "fileName": "d.jpg", "colour": "red"},
		42,
		{"file": "ftp://example.com/f.jpg", "fileName": "f.jpg", "tags": "a%b"},
		{"file": "https://example.com/g.jpg", "fileName": "g.jpg", "idempotencyKey": "g"},
		{"file": "https://example.com/g.jpg", "fileName": "g.jpg", "idempotencyKey": "g"}
	]`
	r := a.post(t, "/v1/uploads/batch", body)
	r.want(t, http.StatusOK, "application/json")

	var raw struct {
		Results []json.RawMessage `json:"results"`
	}
	if err := json.Unmarshal(r.body, &raw); err != nil {
		t.Fatalf("answer is not {\"results\": [...]}: %v\n%s", err, r.body)
	}
	var resp restapi.BatchResponse
	if err := json.Unmarshal(r.body, &resp); err != nil {
		t.Fatalf("answer does not decode as a BatchResponse: %v", err)
	}
	type want struct {
		name   string   // the job's fileName when enqueued
		fields []string // the fields named by the error otherwise
	}
	wants := []want{
		{name: "a.jpg"},
		{fields: []string{"file"}},
		{name: "c.jpg"},
		{fields: []string{"colour"}},
		{fields: nil}, // not an object: the whole element
		{fields: []string{"file", "tags[0]"}},
		{name: "g.jpg"},
		{name: "g.jpg"},
	}
	if len(raw.Results) != len(wants) || len(resp.Results) != len(wants) {
		t.Fatalf("%d results for %d jobs:\n%s", len(raw.Results), len(wants), r.body)
	}
	var ids []string
	for i, w := range wants {
		res := resp.Results[i]
		if w.name != "" {
			if res.Job == nil || res.Error != nil {
				t.Errorf("result %d = %s, want the record of %s", i, raw.Results[i], w.name)
				continue
			}
			if got := e2e.Request(t, res.Job)["fileName"]; got != w.name {
				t.Errorf("result %d is the job of %v, want %s: out of order", i, got, w.name)
			}
			sameJSON(t, raw.Results[i], a.storedJSON(t, res.Job.ID))
			a.Task(t, tasks.QueueDefault, res.Job.ID)
			ids = append(ids, res.Job.ID)
			continue
		}
		if res.Error == nil {
			t.Errorf("result %d = %s, want {\"error\": problem}", i, raw.Results[i])
			continue
		}
		var wrapper struct {
			Error json.RawMessage `json:"error"`
		}
		if err := json.Unmarshal(raw.Results[i], &wrapper); err != nil {
			t.Fatalf("result %d: %v", i, err)
		}
		p := checkProblem(t, http.StatusBadRequest, http.Header{"Content-Type": {"application/problem+json"}}, wrapper.Error)
		if p.Type != restapi.ProblemTypeBase+"invalid-job" || !slices.Equal(fields(p), w.fields) {
			t.Errorf("result %d: problem %s naming %v, want invalid-job naming %v", i, p.Type, fields(p), w.fields)
		}
	}
	if len(ids) == 4 && ids[2] != ids[3] {
		t.Errorf("two jobs with idempotencyKey g in one batch gave jobs %s and %s, want one", ids[2], ids[3])
	}
	if jobs := a.AllJobs(t, ""); len(jobs) != 3 {
		t.Errorf("%d jobs recorded, want 3 (a, c, g)", len(jobs))
	}

	// A key naming a failed job gives its record, whose own "error" member does not
	// make it an error result.
	if len(ids) == 4 {
		a.Drive(t, ids[2], tasks.StatusActive, tasks.StatusFailed)
		again := a.post(t, "/v1/uploads/batch", `[{"file": "https://example.com/g.jpg", "fileName": "g.jpg", "idempotencyKey": "g"}]`)
		again.want(t, http.StatusOK, "application/json")
		var resp restapi.BatchResponse
		if err := json.Unmarshal(again.body, &resp); err != nil || len(resp.Results) != 1 || resp.Results[0].Job == nil ||
			resp.Results[0].Job.ID != ids[2] || resp.Results[0].Job.Error == nil || resp.Results[0].Error != nil {
			t.Errorf("batch naming a failed job's key = %s (%v), want its failed record", again.body, err)
		}
	}

	// An empty batch enqueues nothing and says so.
	empty := a.post(t, "/v1/uploads/batch", ` [ ] `)
	empty.want(t, http.StatusOK, "application/json")
	sameJSON(t, empty.body, `{"results": []}`)

	// The limits are the options'.
	small := serveAPI(t, a.Env, restapi.Options{MaxBatch: 2, MaxBatchBytes: 1024})
	small.post(t, "/v1/uploads/batch", `[`+jobJSON("x.jpg")+`,`+jobJSON("y.jpg")+`,`+jobJSON("z.jpg")+`]`).
		problem(t, http.StatusRequestEntityTooLarge, "batch-too-large")
	p := small.post(t, "/v1/uploads/batch", `[{"file": "https://example.com/x.jpg", "fileName": "x.jpg", "description": "`+strings.Repeat("x", 1024)+`"}]`).
		problem(t, http.StatusRequestEntityTooLarge, "body-too-large")
	if !strings.Contains(p.Detail, "1 KiB") {
		t.Errorf("detail %q does not give the limit, 1 KiB", p.Detail)
	}
	if jobs := a.AllJobs(t, ""); len(jobs) != 3 {
		t.Errorf("refused batches left %d jobs, want the 3 of before", len(jobs))
	}
	small.post(t, "/v1/uploads/batch", `[`+jobJSON("x.jpg")+`,`+jobJSON("y.jpg")+`]`).want(t, http.StatusOK, "application/json")
}

func TestAPIGet(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	job := a.Enqueue(t, e2e.ValidJob("a.jpg"))
	a.Drive(t, job.ID, tasks.StatusActive, tasks.StatusRetrying)

	r := a.get(t, "/v1/uploads/"+job.ID)
	got := r.record(t, http.StatusOK)
	if got.Status != tasks.StatusRetrying || got.Attempts != 1 || len(got.Events) != 3 {
		t.Errorf("record: status %s, attempts %d, %d events; want retrying, 1, 3", got.Status, got.Attempts, len(got.Events))
	}
	sameJSON(t, r.body, a.storedJSON(t, job.ID))

	// HEAD answers like GET, without a body.
	head := a.do(t, req{method: http.MethodHead, path: "/v1/uploads/" + job.ID})
	if head.status != http.StatusOK || head.header.Get("Content-Type") != "application/json" || len(head.body) != 0 {
		t.Errorf("HEAD: %d %q, %d bytes; want 200 application/json, no body", head.status, head.header.Get("Content-Type"), len(head.body))
	}
}

func TestAPIList(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})

	empty := a.get(t, "/v1/uploads")
	empty.want(t, http.StatusOK, "application/json")
	sameJSON(t, empty.body, `{"uploads": []}`)

	var ids []string
	for i := range 5 {
		ids = append(ids, a.post(t, "/v1/uploads", jobJSON(fmt.Sprintf("%d.jpg", i))).record(t, http.StatusAccepted).ID)
	}
	for _, id := range []string{ids[1], ids[3]} {
		a.post(t, "/v1/uploads/"+id+"/cancel", "").record(t, http.StatusOK)
	}

	// status=queued, two at a time, newest first, following nextCursor.
	var got []string
	path := "/v1/uploads?status=queued&limit=2"
	for page := 1; ; page++ {
		r := a.get(t, path)
		r.want(t, http.StatusOK, "application/json")
		var doc map[string]json.RawMessage
		if err := json.Unmarshal(r.body, &doc); err != nil {
			t.Fatal(err)
		}
		var p restapi.ListPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		if len(p.Uploads) > 2 {
			t.Fatalf("page %d holds %d jobs, limit 2", page, len(p.Uploads))
		}
		for _, j := range p.Uploads {
			if j.Status != tasks.StatusQueued {
				t.Errorf("status=queued listed job %s in %s", j.ID, j.Status)
			}
			sameJSON(t, []byte(e2e.MustJSON(t, j)), a.storedJSON(t, j.ID))
			got = append(got, j.ID)
		}
		if p.NextCursor == "" {
			if _, ok := doc["nextCursor"]; ok {
				t.Errorf("last page has a nextCursor member: %s", r.body)
			}
			break
		}
		if page > 5 {
			t.Fatal("status=queued still has a next page after 5 pages")
		}
		path = "/v1/uploads?status=queued&limit=2&cursor=" + p.NextCursor
	}
	if want := []string{ids[4], ids[2], ids[0]}; !slices.Equal(got, want) {
		t.Errorf("status=queued over pages = %v, want %v", got, want)
	}

	listIDs := func(path string) []string {
		r := a.get(t, path)
		r.want(t, http.StatusOK, "application/json")
		var p restapi.ListPage
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, j := range p.Uploads {
			out = append(out, j.ID)
		}
		return out
	}
	if got, want := listIDs("/v1/uploads?status=canceled"), []string{ids[3], ids[1]}; !slices.Equal(got, want) {
		t.Errorf("status=canceled = %v, want %v", got, want)
	}
	newestFirst := slices.Clone(ids)
	slices.Reverse(newestFirst)
	if got := listIDs("/v1/uploads"); !slices.Equal(got, newestFirst) {
		t.Errorf("all = %v, want %v", got, newestFirst)
	}
	if got := listIDs("/v1/uploads?status=&limit=1000"); len(got) != 5 {
		t.Errorf("status= (every status) = %d jobs, want 5", len(got))
	}
	if got := listIDs("/v1/uploads?status=completed"); len(got) != 0 {
		t.Errorf("status=completed = %v, want none", got)
	}
}

func TestAPICancel(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	job := a.Enqueue(t, e2e.ValidJob("a.jpg"))
	r := a.post(t, "/v1/uploads/"+job.ID+"/cancel", "")
	got := r.record(t, http.StatusOK)
	if got.ID != job.ID || got.Status != tasks.StatusCanceled {
		t.Errorf("cancel answered %s %s, want %s canceled", got.ID, got.Status, job.ID)
	}
	sameJSON(t, r.body, a.storedJSON(t, job.ID))
	a.NoTask(t, tasks.QueueDefault, job.ID)

	// Canceling again: the job is finished.
	p := a.post(t, "/v1/uploads/"+job.ID+"/cancel", "").problem(t, http.StatusConflict, "cannot-cancel")
	if p.JobStatus != tasks.StatusCanceled || !strings.Contains(p.Detail, "canceled") {
		t.Errorf("problem names status %q (%s), want canceled", p.JobStatus, p.Detail)
	}
	// A job that is being uploaded can be canceled; an uploaded one cannot.
	active := a.Enqueue(t, e2e.ValidJob("b.jpg"))
	a.Drive(t, active.ID, tasks.StatusActive)
	a.post(t, "/v1/uploads/"+active.ID+"/cancel", "").record(t, http.StatusOK)
	uploaded := a.Enqueue(t, e2e.ValidJob("c.jpg"))
	a.Drive(t, uploaded.ID, tasks.StatusActive, tasks.StatusUploaded)
	before := a.storedJSON(t, uploaded.ID)
	p = a.post(t, "/v1/uploads/"+uploaded.ID+"/cancel", "").problem(t, http.StatusConflict, "cannot-cancel")
	if p.JobStatus != tasks.StatusUploaded || !strings.Contains(p.Detail, "uploaded") {
		t.Errorf("problem names status %q (%s), want uploaded", p.JobStatus, p.Detail)
	}
	if after := a.storedJSON(t, uploaded.ID); after != before {
		t.Errorf("a refused cancel changed the job:\nbefore %s\nafter  %s", before, after)
	}
}

func TestAPIRetry(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	job := a.Enqueue(t, e2e.ValidJob("a.jpg"))
	failed := a.Drive(t, job.ID, tasks.StatusActive, tasks.StatusFailed)
	if failed.Error == nil {
		t.Fatal("driven job has no error")
	}
	if err := a.Insp.ArchiveTask(tasks.QueueDefault, job.ID); err != nil {
		t.Fatalf("ArchiveTask: %v", err)
	}

	r := a.post(t, "/v1/uploads/"+job.ID+"/retry", "")
	got := r.record(t, http.StatusAccepted)
	if got.Status != tasks.StatusQueued || got.Attempts != 0 || got.Error != nil {
		t.Errorf("retry answered status %s, attempts %d, error %v; want queued, 0, none", got.Status, got.Attempts, got.Error)
	}
	sameJSON(t, r.body, a.storedJSON(t, job.ID))
	a.Task(t, tasks.QueueDefault, job.ID)

	// A queued job is not retried.
	p := a.post(t, "/v1/uploads/"+job.ID+"/retry", "").problem(t, http.StatusConflict, "cannot-retry")
	if p.JobStatus != tasks.StatusQueued || !strings.Contains(p.Detail, "queued") {
		t.Errorf("problem names status %q (%s), want queued", p.JobStatus, p.Detail)
	}
	// A canceled one is.
	a.post(t, "/v1/uploads/"+job.ID+"/cancel", "").record(t, http.StatusOK)
	a.post(t, "/v1/uploads/"+job.ID+"/retry", "").record(t, http.StatusAccepted)
}

// TestAPIBadRequests sends every kind of client mistake to a handler on its own
// Redis: each gets its 4xx naming the bad fields, and nothing is enqueued or changed.
func TestAPIBadRequests(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	completed := a.Complete(t, a.Enqueue(t, e2e.ValidJob("done.jpg")))
	before := a.storedJSON(t, completed.ID)

	const file = `"file": "https://example.com/a.jpg"`
	const name = `"fileName": "a.jpg"`
	job := func(extra string) string { return "{" + file + ", " + name + ", " + extra + "}" }
	deep := strings.Repeat("/d", tasks.MaxFolderDepth+1)
	var batch1001 strings.Builder
	batch1001.WriteString("[")
	for i := range restapi.DefaultMaxBatch + 1 {
		if i > 0 {
			batch1001.WriteString(",")
		}
		batch1001.WriteString(jobJSON(fmt.Sprintf("%d.jpg", i)))
	}
	batch1001.WriteString("]")
	tooLarge := job(`"description": "` + strings.Repeat("x", restapi.DefaultMaxBodyBytes) + `"`)
	inline := base64.StdEncoding.EncodeToString(make([]byte, tasks.DefaultMaxInlineBytes+1))

	cases := []struct {
		name    string
		method  string // default POST
		path    string // default /v1/uploads
		body    string
		chunked bool // send the body without Content-Length
		header  map[string]string
		status  int
		slug    string
		fields  []string
		detail  string // a part of the detail, if any
		allow   string
	}{
		{name: "malformed JSON", body: `{"file": "https://example.com/a.jpg", "fileName": }`,
			status: 400, slug: "malformed-json", detail: "byte offset 50 (line 1, column 51)"},
		{name: "malformed JSON on line 3", body: "{\n  \"file\": \"https://example.com/a.jpg\",\n  \"fileName\" \"a.jpg\"}",
			status: 400, slug: "malformed-json", detail: "line 3, column 14"},
		{name: "truncated JSON", body: `{"file": "https://exa`, status: 400, slug: "malformed-json", detail: "ends before"},
		{name: "trailing garbage", body: jobJSON("a.jpg") + ` garbage`, status: 400, slug: "malformed-json", detail: "after the JSON value"},
		{name: "two objects", body: jobJSON("a.jpg") + jobJSON("b.jpg"), status: 400, slug: "malformed-json", detail: "after the JSON value"},
		{name: "byte order mark", body: "\ufeff" + jobJSON("a.jpg"), status: 400, slug: "malformed-json", detail: "byte order mark"},
		{name: "empty body", body: "", status: 400, slug: "empty-body"},
		{name: "blank body", body: " \n\t ", status: 400, slug: "empty-body"},
		{name: "not an object", body: `["a.jpg"]`, status: 400, slug: "invalid-job"},
		{name: "null", body: `null`, status: 400, slug: "invalid-job"},
		{name: "wrong type for tags", body: job(`"tags": 5`), status: 400, slug: "invalid-job", fields: []string{"tags"}},
		{name: "wrong type for maxAttempts", body: job(`"maxAttempts": "3"`), status: 400, slug: "invalid-job", fields: []string{"maxAttempts"}},
		{name: "wrong type in extension", body: job(`"extensions": [{"name": "aws-auto-tagging", "maxTags": "5", "minConfidence": 5}]`),
			status: 400, slug: "invalid-job", fields: []string{"extensions[0].maxTags"}},
		{name: "unknown field", body: job(`"colour": "red"`), status: 400, slug: "invalid-job", fields: []string{"colour"}},
		{name: "misspelt field", body: `{` + file + `, "filename": "a.jpg"}`, status: 400, slug: "invalid-job", fields: []string{"filename"}, detail: `did you mean "fileName"?`},
		{name: "repeated field", body: job(`"fileName": "b.jpg"`), status: 400, slug: "invalid-job", fields: []string{"fileName"}},
		{name: "missing file", body: `{` + name + `}`, status: 400, slug: "invalid-job", fields: []string{"file"}},
		{name: "missing fileName", body: `{` + file + `}`, status: 400, slug: "invalid-job", fields: []string{"fileName"}},
		{name: "every problem at once", body: `{"file": "ftp://x", "queue": "urgent", "maxAttempts": 99}`,
			status: 400, slug: "invalid-job", fields: []string{"file", "fileName", "maxAttempts", "queue"}, detail: "breaks 4 rules"},
		{name: "bad scheme", body: `{"file": "ftp://x", ` + name + `}`, status: 400, slug: "invalid-job", fields: []string{"file"}},
		{name: "file not a URL", body: `{"file": "https://", ` + name + `}`, status: 400, slug: "invalid-job", fields: []string{"file"}},
		{name: "inline content too large", body: `{"file": "` + inline + `", ` + name + `}`, status: 400, slug: "invalid-job", fields: []string{"file"}},
		{name: "webhookUrl not a URL", body: job(`"webhookUrl": "not a url"`), status: 400, slug: "invalid-job", fields: []string{"webhookUrl"}},
		{name: "callbackUrl relative", body: job(`"callbackUrl": "/callbacks/ikq"`), status: 400, slug: "invalid-job", fields: []string{"callbackUrl"}},
		{name: "tags with %", body: job(`"tags": ["50%off"]`), status: 400, slug: "invalid-job", fields: []string{"tags[0]"}},
		{name: "folder too deep", body: job(`"folder": "` + deep + `"`), status: 400, slug: "invalid-job", fields: []string{"folder"}},
		{name: "customCoordinates bad", body: job(`"customCoordinates": "10,10,100"`), status: 400, slug: "invalid-job", fields: []string{"customCoordinates"}},
		{name: "extension unknown", body: job(`"extensions": [{"name": "remove-everything"}]`), status: 400, slug: "invalid-job", fields: []string{"extensions[0].name"}},
		{name: "transformation bad post type", body: job(`"transformation": {"post": [{"type": "sepia"}]}`),
			status: 400, slug: "invalid-job", fields: []string{"transformation.post[0].type"}},
		{name: "queue urgent", body: job(`"queue": "urgent"`), status: 400, slug: "invalid-job", fields: []string{"queue"}},
		{name: "maxAttempts 99", body: job(`"maxAttempts": 99`), status: 400, slug: "invalid-job", fields: []string{"maxAttempts"}},
		{name: "runAt not a time", body: job(`"runAt": "tomorrow"`), status: 400, slug: "invalid-job", fields: []string{"runAt"}},
		{name: "body too large", body: tooLarge, status: 413, slug: "body-too-large"},
		{name: "body too large, chunked", body: tooLarge, chunked: true, status: 413, slug: "body-too-large"},
		{name: "wrong content type", body: jobJSON("a.jpg"), header: map[string]string{"Content-Type": "text/plain"}, status: 415, slug: "unsupported-media-type"},
		{name: "form content type", body: "file=x", header: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, status: 415, slug: "unsupported-media-type"},
		{name: "bad content type", body: jobJSON("a.jpg"), header: map[string]string{"Content-Type": "application/json; ==="}, status: 415, slug: "unsupported-media-type"},
		{name: "charset not UTF-8", body: jobJSON("a.jpg"), header: map[string]string{"Content-Type": "application/json; charset=latin1"}, status: 415, slug: "unsupported-media-type"},
		{name: "compressed", body: jobJSON("a.jpg"), header: map[string]string{"Content-Encoding": "gzip"}, status: 415, slug: "unsupported-media-type"},
		{name: "idempotency header vs body", body: job(`"idempotencyKey": "k1"`), header: map[string]string{"Idempotency-Key": "k2"},
			status: 400, slug: "invalid-idempotency-key", fields: []string{"idempotencyKey"}},
		{name: "idempotency header too long", body: jobJSON("a.jpg"), header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)},
			status: 400, slug: "invalid-job", fields: []string{"idempotencyKey"}},

		{name: "batch over the limit", path: "/v1/uploads/batch", body: batch1001.String(), status: 413, slug: "batch-too-large", detail: "1000"},
		{name: "batch not an array", path: "/v1/uploads/batch", body: jobJSON("a.jpg"), status: 400, slug: "invalid-batch"},
		{name: "batch null", path: "/v1/uploads/batch", body: `null`, status: 400, slug: "invalid-batch"},
		{name: "batch malformed", path: "/v1/uploads/batch", body: `[` + jobJSON("a.jpg") + `,]`, status: 400, slug: "malformed-json",
			detail: fmt.Sprintf("byte offset %d (line 1, column %d)", len(jobJSON("a.jpg"))+2, len(jobJSON("a.jpg"))+3)},
		{name: "batch malformed on line 3", path: "/v1/uploads/batch", body: "[\n" + jobJSON("a.jpg") + ",\n {\"file\": 1 x}]", status: 400, slug: "malformed-json",
			detail: fmt.Sprintf("byte offset %d (line 3, column 13)", len(jobJSON("a.jpg"))+4+12)},
		{name: "batch missing comma", path: "/v1/uploads/batch", body: `[` + jobJSON("a.jpg") + ` ` + jobJSON("b.jpg") + `]`, status: 400, slug: "malformed-json",
			detail: fmt.Sprintf("after array element, at byte offset %d", len(jobJSON("a.jpg"))+2)},
		{name: "batch closed by a brace", path: "/v1/uploads/batch", body: `[` + jobJSON("a.jpg") + `}`, status: 400, slug: "malformed-json",
			detail: fmt.Sprintf("byte offset %d", len(jobJSON("a.jpg"))+1)},
		{name: "batch truncated", path: "/v1/uploads/batch", body: `[` + jobJSON("a.jpg") + `, {"file"`, status: 400, slug: "malformed-json",
			detail: fmt.Sprintf("ends before the JSON value does, at byte offset %d", len(jobJSON("a.jpg"))+10)},
		{name: "batch unclosed", path: "/v1/uploads/batch", body: `[` + jobJSON("a.jpg"), status: 400, slug: "malformed-json", detail: "ends before"},
		{name: "batch trailing data", path: "/v1/uploads/batch", body: "[]\n  []", status: 400, slug: "malformed-json",
			detail: "unexpected data after the JSON value, at byte offset 5 (line 2, column 3)"},
		{name: "batch trailing garbage", path: "/v1/uploads/batch", body: "[" + jobJSON("a.jpg") + "] x", status: 400, slug: "malformed-json", detail: "after the JSON value"},
		{name: "batch byte order mark", path: "/v1/uploads/batch", body: "\ufeff[]", status: 400, slug: "malformed-json", detail: "byte order mark"},
		{name: "batch garbage", path: "/v1/uploads/batch", body: "x", status: 400, slug: "malformed-json", detail: "byte offset 0 (line 1, column 1)"},
		{name: "batch empty body", path: "/v1/uploads/batch", body: ``, status: 400, slug: "empty-body"},
		{name: "batch wrong content type", path: "/v1/uploads/batch", body: `[]`, header: map[string]string{"Content-Type": "text/csv"}, status: 415, slug: "unsupported-media-type"},
		{name: "batch with Idempotency-Key", path: "/v1/uploads/batch", body: `[` + jobJSON("a.jpg") + `]`, header: map[string]string{"Idempotency-Key": "k"},
			status: 400, slug: "invalid-idempotency-key", fields: []string{"Idempotency-Key"}},

		{name: "list status=bogus", method: "GET", path: "/v1/uploads?status=bogus", status: 400, slug: "invalid-parameter", fields: []string{"status"}, detail: "queued"},
		{name: "list limit=-1", method: "GET", path: "/v1/uploads?limit=-1", status: 400, slug: "invalid-parameter", fields: []string{"limit"}},
		{name: "list limit=0", method: "GET", path: "/v1/uploads?limit=0", status: 400, slug: "invalid-parameter", fields: []string{"limit"}},
		{name: "list limit=ten", method: "GET", path: "/v1/uploads?limit=ten", status: 400, slug: "invalid-parameter", fields: []string{"limit"}},
		{name: "list limit=1001", method: "GET", path: "/v1/uploads?limit=1001", status: 400, slug: "invalid-parameter", fields: []string{"limit"}},
		{name: "list limit twice", method: "GET", path: "/v1/uploads?limit=1&limit=2", status: 400, slug: "invalid-parameter", fields: []string{"limit"}},
		{name: "list unknown parameter", method: "GET", path: "/v1/uploads?staus=failed", status: 400, slug: "invalid-parameter", fields: []string{"staus"}},
		{name: "list cursor not a cursor", method: "GET", path: "/v1/uploads?cursor=%00%01", status: 400, slug: "invalid-parameter", fields: []string{"cursor"}},
		{name: "list query malformed", method: "GET", path: "/v1/uploads?status=%zz", status: 400, slug: "invalid-parameter"},

		{name: "get unknown id", method: "GET", path: "/v1/uploads/01JNOSUCHJOB0000000000000", status: 404, slug: "job-not-found"},
		{name: "cancel unknown id", path: "/v1/uploads/01JNOSUCHJOB0000000000000/cancel", status: 404, slug: "job-not-found"},
		{name: "retry unknown id", path: "/v1/uploads/01JNOSUCHJOB0000000000000/retry", status: 404, slug: "job-not-found"},
		{name: "cancel completed", path: "/v1/uploads/" + completed.ID + "/cancel", status: 409, slug: "cannot-cancel", detail: "completed"},
		{name: "retry completed", path: "/v1/uploads/" + completed.ID + "/retry", status: 409, slug: "cannot-retry", detail: "completed"},

		{name: "unknown route", method: "GET", path: "/v1/nothing", status: 404, slug: "not-found"},
		{name: "unknown action", path: "/v1/uploads/" + completed.ID + "/delete", status: 404, slug: "not-found"},
		{name: "trailing slash", method: "GET", path: "/v1/uploads/", status: 404, slug: "not-found"},
		{name: "wrong method on a job", method: "DELETE", path: "/v1/uploads/" + completed.ID, status: 405, slug: "method-not-allowed", allow: "GET, HEAD"},
		{name: "wrong method on uploads", method: "PUT", path: "/v1/uploads", body: jobJSON("a.jpg"), status: 405, slug: "method-not-allowed", allow: "GET, HEAD, POST"},
		{name: "GET cancel", method: "GET", path: "/v1/uploads/" + completed.ID + "/cancel", status: 405, slug: "method-not-allowed", allow: "POST"},
	}
	t.Run("cases", func(t *testing.T) {
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				r := req{method: tc.method, path: tc.path, header: tc.header}
				if r.method == "" {
					r.method = http.MethodPost
				}
				if r.path == "" {
					r.path = "/v1/uploads"
				}
				if tc.body != "" || r.method == http.MethodPost {
					r.body = strings.NewReader(tc.body)
					if tc.chunked {
						r.body = io.MultiReader(r.body) // hides the length: sent chunked
					}
				}
				got := a.do(t, r)
				p := got.problem(t, tc.status, tc.slug)
				if f := fields(p); !slices.Equal(f, tc.fields) {
					t.Errorf("errors name %v, want %v:\n%s", f, tc.fields, got.body)
				}
				if !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("detail %q does not say %q", p.Detail, tc.detail)
				}
				if allow := got.header.Get("Allow"); allow != tc.allow {
					t.Errorf("Allow = %q, want %q", allow, tc.allow)
				}
				if got.header.Get("Retry-After") != "" {
					t.Errorf("a client mistake is answered with Retry-After %q", got.header.Get("Retry-After"))
				}
			})
		}
	})

	// Nothing was enqueued, nothing changed.
	jobs := a.AllJobs(t, "")
	if len(jobs) != 1 || jobs[0].ID != completed.ID {
		t.Errorf("bad requests left %d jobs, want only the completed one", len(jobs))
	}
	if after := a.storedJSON(t, completed.ID); after != before {
		t.Errorf("bad requests changed the completed job:\nbefore %s\nafter  %s", before, after)
	}
	if n := a.TaskCount(t); n != 0 {
		t.Errorf("bad requests left %d tasks", n)
	}
	if log := a.log.String(); strings.Contains(log, "level=ERROR") || strings.Contains(log, "level=WARN") {
		t.Errorf("client mistakes were logged as failures:\n%s", log)
	}
}

// TestAPINoSecrets: a source's password and signature appear in no answer.
func TestAPINoSecrets(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	const file = "https://user:pw@example.com/a.jpg?X-Amz-Signature=abc"
	body := `{"file": "` + file + `", "fileName": "a.jpg", "webhookUrl": "https://hooks.example.com/ik?token=abc",
		"callbackUrl": "https://user:pw@app.example.com/done?sig=abc"}`
	var answers []reply
	check := func(r reply) reply {
		t.Helper()
		answers = append(answers, r)
		return r
	}
	created := check(a.do(t, req{method: "POST", path: "/v1/uploads", body: strings.NewReader(body),
		header: map[string]string{"Idempotency-Key": "secret-test"}})).record(t, http.StatusAccepted)
	check(a.do(t, req{method: "POST", path: "/v1/uploads", body: strings.NewReader(body),
		header: map[string]string{"Idempotency-Key": "secret-test"}})).record(t, http.StatusOK)
	check(a.post(t, "/v1/uploads/batch", "["+body+","+body+"]")).want(t, http.StatusOK, "application/json")
	check(a.get(t, "/v1/uploads/"+created.ID)).record(t, http.StatusOK)
	check(a.get(t, "/v1/uploads")).want(t, http.StatusOK, "application/json")
	check(a.post(t, "/v1/uploads/"+created.ID+"/cancel", "")).record(t, http.StatusOK)
	check(a.post(t, "/v1/uploads/"+created.ID+"/retry", "")).record(t, http.StatusAccepted)
	a.Drive(t, created.ID, tasks.StatusActive, tasks.StatusUploaded)
	check(a.post(t, "/v1/uploads/"+created.ID+"/cancel", "")).problem(t, http.StatusConflict, "cannot-cancel")

	for i, r := range answers {
		for _, secret := range []string{"pw", "abc"} {
			if bytes.Contains(r.body, []byte(secret)) {
				t.Errorf("answer %d holds %q:\n%s", i, secret, r.body)
			}
		}
		for k, vs := range r.header {
			for _, v := range vs {
				if strings.Contains(v, "pw") || strings.Contains(v, "abc") {
					t.Errorf("answer %d: header %s: %s holds a secret", i, k, v)
				}
			}
		}
	}
	if f, _ := e2e.Request(t, created)["file"].(string); f != "https://example.com/a.jpg?X-Amz-Signature=REDACTED" {
		t.Errorf("request.file = %q, want no userinfo and the signature REDACTED", f)
	}
	// The worker still gets the real source.
	spec, err := a.Store.Spec(t.Context(), created.ID)
	if err != nil || !strings.Contains(string(spec), file) {
		t.Errorf("stored spec = %s, %v; want the unredacted file", spec, err)
	}
}

// TestAPIRedisDown: with Redis gone the API answers 503 with Retry-After, logs the
// cause and echoes none of it; back up, it works again.
func TestAPIRedisDown(t *testing.T) {
	t.Parallel()
	s := redistest.NewServer(t)
	opts := s.Redis().Options()
	opts.MaxRetries, opts.DialerRetries = -1, 1 // fail fast: the test is about the answer
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	a := serveAPI(t, &e2e.Env{P: p, RDB: rdb}, restapi.Options{})
	job := a.post(t, "/v1/uploads", jobJSON("a.jpg")).record(t, http.StatusAccepted)

	s.Stop(t)
	for _, r := range []req{
		{method: "POST", path: "/v1/uploads", body: strings.NewReader(jobJSON("b.jpg"))},
		{method: "GET", path: "/v1/uploads/" + job.ID},
		{method: "GET", path: "/v1/uploads"},
		{method: "POST", path: "/v1/uploads/" + job.ID + "/cancel"},
		{method: "POST", path: "/v1/uploads/" + job.ID + "/retry"},
	} {
		got := a.do(t, r)
		got.problem(t, http.StatusServiceUnavailable, "unavailable")
		if ra := got.header.Get("Retry-After"); ra != "1" {
			t.Errorf("%s %s: Retry-After %q, want 1", r.method, r.path, ra)
		}
		if bytes.Contains(got.body, []byte("redis")) || bytes.Contains(got.body, []byte(s.Addr)) || bytes.Contains(got.body, []byte("refused")) {
			t.Errorf("%s %s: the answer echoes the cause:\n%s", r.method, r.path, got.body)
		}
	}
	// A batch answers per job: none was enqueued, each says why.
	b := a.post(t, "/v1/uploads/batch", "["+jobJSON("c.jpg")+`, {"fileName": "d.jpg"}]`)
	b.want(t, http.StatusOK, "application/json")
	var resp restapi.BatchResponse
	if err := json.Unmarshal(b.body, &resp); err != nil || len(resp.Results) != 2 ||
		resp.Results[0].Error == nil || resp.Results[0].Error.Status != http.StatusServiceUnavailable ||
		resp.Results[1].Error == nil || resp.Results[1].Error.Status != http.StatusBadRequest {
		t.Errorf("batch with Redis down = %s (%v), want a 503 problem then a 400 problem", b.body, err)
	}
	if log := a.log.String(); !strings.Contains(log, "Redis unavailable") || !strings.Contains(log, "refused") {
		t.Errorf("the failure is not logged with its cause:\n%s", log)
	}

	// Back up: the client's pool notices within a few seconds.
	s.Start(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		r := a.post(t, "/v1/uploads", jobJSON("e.jpg"))
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			r.record(t, http.StatusAccepted)
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestAPINotReplicated: a job the Redis replicas did not confirm in time is a 503
// with Retry-After, and leaves no job behind when it has no idempotency key.
func TestAPINotReplicated(t *testing.T) {
	t.Parallel()
	// The test's Redis has no replicas: no job is ever confirmed by one.
	a := serveAPI(t, e2e.NewEnv(t, producer.Config{WaitReplicas: 1, WaitTimeout: 50 * time.Millisecond}), restapi.Options{})
	got := a.post(t, "/v1/uploads", jobJSON("a.jpg"))
	got.problem(t, http.StatusServiceUnavailable, "unavailable")
	if ra := got.header.Get("Retry-After"); ra == "" {
		t.Error("no Retry-After")
	}
	jobs, _, err := a.Store.List(t.Context(), jobstore.ListOptions{})
	if err != nil || len(jobs) != 0 {
		t.Errorf("jobs after a refused create: %d, %v; want none", len(jobs), err)
	}
}

// TestAPIInternalError: a failure that is not Redis being away is a 500 that says
// nothing of its cause, which is logged.
func TestAPIInternalError(t *testing.T) {
	t.Parallel()
	a := newAPIEnv(t, restapi.Options{})
	job := a.Enqueue(t, e2e.ValidJob("a.jpg"))
	// A record this store never wrote: jobstore.ErrCorrupt.
	if err := a.RDB.HSet(t.Context(), jobstore.JobKey(job.ID), "doc", "{not json").Err(); err != nil {
		t.Fatal(err)
	}
	got := a.get(t, "/v1/uploads/"+job.ID)
	got.problem(t, http.StatusInternalServerError, "internal")
	if got.header.Get("Retry-After") != "" || bytes.Contains(got.body, []byte("jobstore")) || bytes.Contains(got.body, []byte("not json")) {
		t.Errorf("500 answer: Retry-After %q, body echoes its cause:\n%s", got.header.Get("Retry-After"), got.body)
	}
	if log := a.log.String(); !strings.Contains(log, "level=ERROR") || !strings.Contains(log, "corrupt") {
		t.Errorf("the failure is not logged with its cause:\n%s", log)
	}
}

// When Retry cannot queue the task, the job goes back to what it was, so Retry can
// be called again once Redis behaves.
func TestRetryTaskFailureRestoresJob(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	job := e.Enqueue(t, e2e.ValidJob("a.jpg"))
	failed := e.Drive(t, job.ID, tasks.StatusActive, tasks.StatusFailed)
	if err := e.Insp.DeleteTask(tasks.QueueDefault, job.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	// A fresh client registers its queue in "asynq:queues" before queueing; a string
	// in its place makes that fail.
	other, err := producer.New(producer.Config{Redis: e.RDB})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.RDB.Set(t.Context(), "asynq:queues", "not a set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if got, err := other.Retry(t.Context(), job.ID); err == nil {
		t.Fatalf("Retry succeeded (%s) though its task could not be queued", got.Status)
	}
	after := e.MustGet(t, job.ID)
	if after.Status != tasks.StatusFailed || after.Attempts != failed.Attempts || after.Error == nil || *after.Error != *failed.Error {
		t.Fatalf("after a failed Retry: status %s, attempts %d, error %v; want failed, %d, %v",
			after.Status, after.Attempts, after.Error, failed.Attempts, failed.Error)
	}
	if err := e.RDB.Del(t.Context(), "asynq:queues").Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Retry(t.Context(), job.ID); err != nil {
		t.Fatalf("Retry once Redis behaves: %v", err)
	}
	if info := e.Task(t, tasks.QueueDefault, job.ID); info.State != asynq.TaskStatePending {
		t.Errorf("task after Retry: %v, want pending", info.State)
	}
}

// openAPI reads the OpenAPI document the server serves.
func openAPI(t *testing.T) map[string]any {
	t.Helper()
	b, err := os.ReadFile("../apiserver/openapi.json")
	if err != nil {
		t.Fatalf("reading the OpenAPI document: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the OpenAPI document is not JSON: %v", err)
	}
	return doc
}

// TestOpenAPIUploadRoutes: the document describes exactly the routes the handler
// serves, and its schemas have exactly the fields of the job spec and record.
func TestOpenAPIUploadRoutes(t *testing.T) {
	t.Parallel()
	doc := openAPI(t)
	if v, _ := doc["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Errorf("openapi = %q, want 3.1.x", v)
	}
	paths, _ := doc["paths"].(map[string]any)
	want := []string{
		"POST /v1/uploads",
		"POST /v1/uploads/batch",
		"GET /v1/uploads/{id}",
		"GET /v1/uploads",
		"POST /v1/uploads/{id}/cancel",
		"POST /v1/uploads/{id}/retry",
		"GET /v1/runs",
		"GET /v1/runs/{id}",
		"GET /v1/runs/{id}/uploads",
		"POST /v1/runs/{id}/retry",
		"GET /v1/runs/{id}/results",
	}
	var got []string
	for path, item := range paths {
		if path != "/v1/uploads" && !strings.HasPrefix(path, "/v1/") {
			continue
		}
		ops, _ := item.(map[string]any)
		for method := range ops {
			switch method {
			case "get", "put", "post", "delete", "options", "head", "patch", "trace":
				got = append(got, strings.ToUpper(method)+" "+path)
			}
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("the document's upload operations are\n%v\nwant\n%v", got, want)
	}

	// Every route the document has, the handler serves (not a 404 or 405 of its own).
	a := newAPIEnv(t, restapi.Options{})
	for _, op := range want {
		method, path, _ := strings.Cut(op, " ")
		path = strings.ReplaceAll(path, "{id}", "01JNOSUCHJOB0000000000000")
		r := a.do(t, req{method: method, path: path, body: strings.NewReader("[]")})
		if r.status == http.StatusMethodNotAllowed || strings.Contains(string(r.body), "/problems/not-found") {
			t.Errorf("%s: the handler does not serve it: %d %s", op, r.status, r.body)
		}
	}

	schemas, _ := doc["components"].(map[string]any)["schemas"].(map[string]any)
	for name, typ := range map[string]reflect.Type{
		"Upload":         reflect.TypeFor[tasks.Upload](),
		"Job":            reflect.TypeFor[tasks.Job](),
		"Problem":        reflect.TypeFor[restapi.Problem](),
		"FieldError":     reflect.TypeFor[tasks.Problem](),
		"Extension":      reflect.TypeFor[tasks.Extension](),
		"Transformation": reflect.TypeFor[tasks.Transformation](),
		"PostTransform":  reflect.TypeFor[tasks.PostTransform](),
		"JobError":       reflect.TypeFor[tasks.JobError](),
		"Callback":       reflect.TypeFor[tasks.Callback](),
		"Event":          reflect.TypeFor[tasks.Event](),
		"ListPage":       reflect.TypeFor[restapi.ListPage](),
		"Run":            reflect.TypeFor[tasks.Run](),
		"RunCounts":      reflect.TypeFor[tasks.RunCounts](),
		"RunFailure":     reflect.TypeFor[tasks.RunFailure](),
		"RunExample":     reflect.TypeFor[tasks.RunExample](),
		"RunsPage":       reflect.TypeFor[restapi.RunsPage](),
		"RunRetried":     reflect.TypeFor[restapi.RunRetried](),
	} {
		s, _ := schemas[name].(map[string]any)
		props, _ := s["properties"].(map[string]any)
		var documented []string
		for p := range props {
			documented = append(documented, p)
		}
		slices.Sort(documented)
		if fields := jsonFields(typ); !slices.Equal(documented, fields) {
			t.Errorf("schema %s has properties\n%v\nthe Go type has\n%v", name, documented, fields)
		}
	}

	// Every $ref resolves.
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, ok := strings.CutPrefix(ref, "#/components/")
				parts := strings.Split(name, "/")
				if !ok || len(parts) != 2 {
					t.Errorf("$ref %q is not a local component", ref)
				} else if section, _ := doc["components"].(map[string]any)[parts[0]].(map[string]any); section[parts[1]] == nil {
					t.Errorf("$ref %q names nothing", ref)
				}
			}
			for _, e := range v {
				walk(e)
			}
		case []any:
			for _, e := range v {
				walk(e)
			}
		}
	}
	walk(doc)
}

// jsonFields are the JSON member names of a struct type's fields.
func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		out = append(out, name)
	}
	slices.Sort(out)
	return out
}
