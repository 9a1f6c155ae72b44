package webhook_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/worker"
)

// The end-to-end stack of these tests is the one `ikq dev` runs, on loopback and in
// one process: Redis, the API (producer REST API and webhook receiver, wired as
// cmd/ikq/api.go wires them), the emulator as ImageKit with its account webhooks
// pointed at the API, and a worker whose webhookUrl is the capability URL.

const (
	// e2eAccountSecret is the ImageKit dashboard's webhook secret, shared by the
	// emulator (which signs account events with it) and the receiver.
	e2eAccountSecret = "e2e_dashboard_webhook_secret_0123456789"
	// userAgentEmulator is what the emulator sends its webhooks with; ikq's relay
	// sends callback.UserAgentRelay.
	userAgentEmulator = "ImageKit-Emulator-Webhook"
	userAgentRelay    = "ikq-relay"
)

// e2eConfig is what a test may change of its stack.
type e2eConfig struct {
	emulator emulator.Config
	worker   worker.Config
}

type e2eOption func(*e2eConfig)

func withE2EEmulator(f func(*emulator.Config)) e2eOption {
	return func(c *e2eConfig) { f(&c.emulator) }
}

func withE2EWorker(f func(*worker.Config)) e2eOption {
	return func(c *e2eConfig) { f(&c.worker) }
}

// e2eStack is one test's whole pipeline (e2e.Stack with the API), the requests to
// /webhooks/ the API received, and a tracker that records uploads as a worker does.
type e2eStack struct {
	*e2e.Stack
	tracker *completion.Tracker
	// callbackSecret is IKQ_CALLBACK_SECRET: "whsec_" + base64 of 32 random bytes.
	callbackSecret string
	hooks          *hookLog // every request to /webhooks/ the API received
	gate           *hookGate
}

func newE2EStack(t *testing.T, opts ...e2eOption) *e2eStack {
	t.Helper()
	cfg := e2eConfig{
		emulator: emulator.Config{
			ExtensionDelay:  50 * time.Millisecond,
			WebhookRetryFor: 10 * time.Second,
			WebhookTimeout:  10 * time.Second,
		},
		worker: worker.Config{
			Concurrency:   4,
			ShutdownGrace: 5 * time.Second,
			RetryBase:     100 * time.Millisecond,
			RetryMax:      time.Second,
			CancelCheck:   100 * time.Millisecond,
			PollInterval:  100 * time.Millisecond,
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	s := &e2eStack{hooks: &hookLog{}, gate: &hookGate{}}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	s.callbackSecret = "whsec_" + base64.StdEncoding.EncodeToString(key)

	// The API, and ImageKit as the emulator with its account webhooks sent to it.
	s.Stack = e2e.New(t, e2e.Config{
		Emulator:      cfg.emulator,
		API:           true,
		AccountSecret: e2eAccountSecret,
		APIMiddleware: s.intercept,
		LogTail:       30000,
	})
	// The test records uploads itself through a tracker, as a worker would.
	s.tracker = completion.New(completion.Config{Store: jobstore.New(s.RDB, jobstore.Options{}), Redis: s.RDB,
		Queue: asynq.NewClientFromRedisClient(s.RDB), Logger: s.Logger.With("component", "test")})

	// The worker (cmd/ikq/dev.go), its webhookUrl the capability URL.
	wcfg := cfg.worker
	wcfg.Sources = worker.SourceConfig{
		FetchAllow:    e2e.LoopbackAllow, // sources and callbacks are test servers
		HeaderTimeout: 5 * time.Second,
		RetryInitial:  50 * time.Millisecond,
		RetryMax:      200 * time.Millisecond,
		RetryElapsed:  2 * time.Second,
	}
	wcfg.TrackTransformations = true
	wcfg.CallbackSecret = s.callbackSecret
	// asynq schedules retries to the second: one second is as fast as it goes.
	wcfg.CallbackRetryDelay = func(int) time.Duration { return time.Second }
	s.StartWorker(wcfg)
	return s
}

// --- the webhook requests the API receives ---

// hookRequest is one request to /webhooks/ and the receiver's answer.
type hookRequest struct {
	Path   string
	Query  string
	Header http.Header
	Body   []byte
	Code   int
	Answer []byte
}

func (h hookRequest) fromEmulator() bool { return h.Header.Get("User-Agent") == userAgentEmulator }

// answerStatus is the {"status"} of a 200 answer.
func (h hookRequest) answerStatus() string {
	var a struct{ Status string }
	_ = json.Unmarshal(h.Answer, &a)
	return a.Status
}

type hookLog struct {
	mu   sync.Mutex
	reqs []hookRequest
}

func (l *hookLog) add(r hookRequest) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, r)
}

// matching returns the requests for which keep is true, in arrival order.
func (l *hookLog) matching(keep func(hookRequest) bool) []hookRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []hookRequest
	for _, r := range l.reqs {
		if keep(r) {
			out = append(out, r)
		}
	}
	return out
}

// waitHooks waits until at least n requests to /webhooks/ match keep, and returns
// them. A request is logged once its handler has returned, which may be just after
// the job it changed is seen changed.
func (s *e2eStack) waitHooks(n int, keep func(hookRequest) bool) []hookRequest {
	s.T.Helper()
	var got []hookRequest
	ikqtest.Eventually(s.T, func() string { return fmt.Sprintf("%d matching webhook requests, want %d: %+v", len(got), n, got) },
		func() bool {
			got = s.hooks.matching(keep)
			return len(got) >= n
		})
	return got
}

func fromEmulator(h hookRequest) bool { return h.fromEmulator() }

// hookGate holds the emulator's webhooks while a test looks at the jobs they would
// change. The test's own requests pass.
type hookGate struct {
	mu sync.Mutex
	ch chan struct{}
}

func (g *hookGate) wait(ctx context.Context) {
	g.mu.Lock()
	ch := g.ch
	g.mu.Unlock()
	if ch == nil {
		return
	}
	select {
	case <-ch:
	case <-ctx.Done():
	}
}

// holdEmulatorWebhooks makes the emulator's webhooks wait at the API's door until
// the returned release is called (at cleanup at the latest).
func (s *e2eStack) holdEmulatorWebhooks() (release func()) {
	ch := make(chan struct{})
	s.gate.mu.Lock()
	s.gate.ch = ch
	s.gate.mu.Unlock()
	var once sync.Once
	release = func() { once.Do(func() { close(ch) }) }
	// Registered after the API server's Close, so it runs before it: Close waits for
	// handlers, and none may be left held.
	s.T.Cleanup(release)
	return release
}

// answerRecorder keeps a copy of what a handler answered.
type answerRecorder struct {
	http.ResponseWriter
	code int
	body bytes.Buffer
}

func (a *answerRecorder) WriteHeader(code int) {
	a.code = code
	a.ResponseWriter.WriteHeader(code)
}

func (a *answerRecorder) Write(b []byte) (int, error) {
	a.body.Write(b)
	return a.ResponseWriter.Write(b)
}

// intercept records every request to /webhooks/ with its answer, and holds the
// emulator's while the gate is closed.
func (s *e2eStack) intercept(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/webhooks/") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, "unreadable body", http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		if r.UserAgent() == userAgentEmulator {
			s.gate.wait(r.Context())
		}
		rec := &answerRecorder{ResponseWriter: w, code: http.StatusOK}
		next.ServeHTTP(rec, r)
		s.hooks.add(hookRequest{Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(),
			Body: body, Code: rec.code, Answer: bytes.Clone(rec.body.Bytes())})
	})
}

// --- jobs ---

// fetchRecord is GET /v1/uploads/{id}: the record and its raw JSON.
func (s *e2eStack) fetchRecord(id string) (*jobstore.Job, []byte, error) {
	resp, err := http.Get(s.APIURL + "/v1/uploads/" + id)
	if err != nil {
		return nil, nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, raw, fmt.Errorf("GET /v1/uploads/%s: %d %s", id, resp.StatusCode, raw)
	}
	var job jobstore.Job
	if err := json.Unmarshal(raw, &job); err != nil {
		return nil, raw, fmt.Errorf("GET /v1/uploads/%s: %w", id, err)
	}
	return &job, raw, nil
}

// record is fetchRecord that fails the test on an error.
func (s *e2eStack) record(id string) (*jobstore.Job, []byte) {
	s.T.Helper()
	job, raw, err := s.fetchRecord(id)
	if err != nil {
		s.T.Fatal(err)
	}
	return job, raw
}

// waitJob polls the job's record until cond holds, and fails the test after
// ikqtest.WaitTimeout with the record, events included.
func (s *e2eStack) waitJob(id, what string, cond func(*jobstore.Job) bool) (*jobstore.Job, []byte) {
	s.T.Helper()
	var job *jobstore.Job
	var raw, lastRaw []byte
	var lastErr error
	ikqtest.Eventually(s.T, func() string {
		return fmt.Sprintf("job %s: %s: not reached (last error %v); record:\n%s", id, what, lastErr, indentJSON(lastRaw))
	}, func() bool {
		var err error
		job, raw, err = s.fetchRecord(id)
		lastErr = err
		if err != nil {
			return false
		}
		lastRaw = raw
		return cond(job)
	})
	return job, raw
}

// waitStatus waits until the job is in one of statuses.
func (s *e2eStack) waitStatus(id string, statuses ...jobstore.Status) (*jobstore.Job, []byte) {
	s.T.Helper()
	return s.waitJob(id, fmt.Sprintf("status in %v", statuses), func(j *jobstore.Job) bool {
		return slices.Contains(statuses, j.Status)
	})
}

// capabilityURL is the job's webhook URL at the API, as the worker gives it to ImageKit.
func (s *e2eStack) capabilityURL(jobID string) string { return s.Capability.URL(s.APIURL, jobID) }

// post POSTs body to target with the headers h and returns the answer.
func (s *e2eStack) post(target string, body []byte, h http.Header) (int, []byte) {
	s.T.Helper()
	req, err := http.NewRequestWithContext(s.T.Context(), http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		s.T.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range h {
		req.Header[k] = vs
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.T.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	answer, err := io.ReadAll(resp.Body)
	if err != nil {
		s.T.Fatal(err)
	}
	return resp.StatusCode, answer
}

// wantAnswer checks a receiver's answer: its code, and for 200 its {"status"}.
func wantAnswer(t *testing.T, what string, code int, answer []byte, wantCode int, wantStatus string) {
	t.Helper()
	if code != wantCode {
		t.Fatalf("%s: answered %d %s, want %d", what, code, answer, wantCode)
	}
	if wantCode != http.StatusOK {
		return
	}
	var a struct{ Status string }
	if err := json.Unmarshal(answer, &a); err != nil || a.Status != wantStatus {
		t.Fatalf("%s: answered %s, want status %q", what, answer, wantStatus)
	}
}

// extensionBody is a per-upload webhook as the emulator (and ImageKit) sends it.
func extensionBody(t testing.TB, service, status, fileID string) []byte {
	t.Helper()
	var m map[string]any
	if status == "SUCCESS" {
		m = map[string]any{"service": service, "status": status, "fileObject": map[string]any{"fileId": fileID}}
	} else {
		m = map[string]any{"service": service, "status": status, "fileId": fileID,
			"error": map[string]any{"reason": "failed"}}
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// postTransformEvent is an upload.post-transform.* account event as the emulator
// sends it, for a {"type":"transformation","value":value} post-transformation.
func postTransformEvent(t testing.TB, typ, id, fileID, value string) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"type":       typ,
		"id":         id,
		"created_at": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"request": map[string]any{"x_request_id": "req_" + id,
			"transformation": map[string]any{"type": "transformation", "value": value}},
		"data": map[string]any{"fileId": fileID, "name": "photo.png"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The signatures of account events are made by hand with standardHeaders,
// legacyHeader and signBoth (helpers_test.go): HMAC-SHA256 keyed with the raw
// secret bytes, over "id.ts.body" in base64 as "v1,…" for Standard Webhooks and
// over "t.body" in hex as x-ik-signature "t=<ms>,v1=…" for the legacy scheme.

// states lists the states of the job's events, in order.
func states(j *jobstore.Job) []jobstore.Status {
	out := make([]jobstore.Status, len(j.Events))
	for i, e := range j.Events {
		out[i] = e.State
	}
	return out
}

// stateIndex is the index of the first event in state st, or -1.
func stateIndex(j *jobstore.Job, st jobstore.Status) int {
	return slices.IndexFunc(j.Events, func(e jobstore.Event) bool { return e.State == st })
}

// resultFields is the part of job.result these tests read.
type resultFields struct {
	FileID   string `json:"fileId"`
	FilePath string `json:"filePath"`
	AITags   []struct {
		Name       string  `json:"name"`
		Confidence float64 `json:"confidence"`
		Source     string  `json:"source"`
	} `json:"AITags"`
}

func resultFieldsOf(t *testing.T, j *jobstore.Job) resultFields {
	t.Helper()
	var r resultFields
	if err := json.Unmarshal(j.Result, &r); err != nil || r.FileID == "" {
		t.Fatalf("job %s: result %s: %v (want a fileId)", j.ID, j.Result, err)
	}
	return r
}

func indentJSON(raw []byte) string {
	var b bytes.Buffer
	if json.Indent(&b, raw, "", "  ") != nil {
		return string(raw)
	}
	return b.String()
}

// --- sources and receivers ---

// e2ePNG is a small PNG whose pixels depend on seed.
func e2ePNG(t testing.TB, seed int) []byte { return ikqtest.PNG(t, seed, 24, 16) }

// pngSource serves a PNG at any path and returns the URL of one.
func pngSource(t *testing.T, seed int) string {
	t.Helper()
	return ikqtest.NewSourceServer(t, e2ePNG(t, seed), nil).URL + "/photo.png"
}

// blockingSource serves a PNG's first half at once and the rest only after Release;
// URL is the file's.
type blockingSource struct {
	*ikqtest.SlowSource
	URL string
}

func newBlockingSource(t *testing.T, seed int) *blockingSource {
	t.Helper()
	src := ikqtest.NewSlowSource(t, e2ePNG(t, seed))
	return &blockingSource{SlowSource: src, URL: src.URL + "/slow.png"}
}

// received is one request an app's receiver got, and what it answered.
type received struct {
	Header http.Header
	Body   []byte
	Code   int
}

// receiver is an app's endpoint (callbackUrl or webhookUrl). answer chooses the code
// of the n-th request (1-based); nil answers 200.
type receiver struct {
	URL    string
	answer func(n int) int
	mu     sync.Mutex
	reqs   []received
	n      atomic.Int64
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := int(rc.n.Add(1))
		code := http.StatusOK
		if rc.answer != nil {
			code = rc.answer(n)
		}
		rc.mu.Lock()
		rc.reqs = append(rc.reqs, received{Header: r.Header.Clone(), Body: body, Code: code})
		rc.mu.Unlock()
		w.WriteHeader(code)
		fmt.Fprintf(w, "answer %d", n)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL + "/hooks"
	return rc
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.reqs)
}
