package worker_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const privateKey = "private_test"

// waitTimeout bounds every wait of these tests. It is generous: a wait that runs out
// is a failure with the job's record in the message, never a timing assertion.
const waitTimeout = 30 * time.Second

// stack is one test's whole pipeline: its own Redis database, an emulator on
// loopback, a source opener, a producer and (unless withoutWorker) a running worker.
type stack struct {
	t         *testing.T
	rdb       *redis.Client
	emu       *emulator.Server
	emuURL    string
	ik        *imagekit.Client
	opener    *source.Opener
	sleeps    *sleepRecorder
	producer  *producer.Client
	inspector *asynq.Inspector
	logs      *syncBuffer
	cfg       stackConfig
	worker    *runningWorker // the one newStack started, if any
}

type stackConfig struct {
	emulator  emulator.Config
	source    source.Config
	worker    worker.Config
	uploadURL string // the Upload API the worker calls; default the emulator's
	noWorker  bool
}

type option func(*stackConfig)

// withSource edits the source opener's config.
func withSource(f func(*source.Config)) option { return func(c *stackConfig) { f(&c.source) } }

// withWorker edits the worker's config.
func withWorker(f func(*worker.Config)) option { return func(c *stackConfig) { f(&c.worker) } }

// withUploadURL points the worker's ImageKit client at another Upload API endpoint.
func withUploadURL(u string) option { return func(c *stackConfig) { c.uploadURL = u } }

// withoutWorker leaves starting workers to the test (startWorker).
func withoutWorker() option { return func(c *stackConfig) { c.noWorker = true } }

func newStack(t *testing.T, opts ...option) *stack {
	t.Helper()
	s := &stack{t: t, logs: &syncBuffer{}, sleeps: &sleepRecorder{}}
	s.cfg = stackConfig{
		emulator: emulator.Config{
			PrivateKey:      privateKey,
			FetchAllow:      []string{"127.0.0.0/8", "::1"}, // remote-fetch sources are loopback servers
			ExtensionDelay:  50 * time.Millisecond,
			WebhookRetryFor: time.Second,
			WebhookTimeout:  time.Second,
		},
		source: source.Config{
			HeaderTimeout: 2 * time.Second,
			RetryInitial:  50 * time.Millisecond,
			RetryMax:      200 * time.Millisecond,
			RetryElapsed:  5 * time.Second,
		},
		worker: worker.Config{
			Concurrency:   4,
			ShutdownGrace: 10 * time.Second,
			RetryBase:     100 * time.Millisecond,
			RetryMax:      time.Second,
			CancelCheck:   100 * time.Millisecond,
			PollInterval:  100 * time.Millisecond,
		},
	}
	for _, o := range opts {
		o(&s.cfg)
	}

	s.rdb = redistest.New(t).Client(t)

	emu, err := emulator.New(s.cfg.emulator)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() {
		ts.Close()
		_ = emu.Close()
	})
	s.emu, s.emuURL = emu, ts.URL

	uploadURL := s.cfg.uploadURL
	if uploadURL == "" {
		uploadURL = s.emuURL + "/api/v1/files/upload"
	}
	s.ik = &imagekit.Client{UploadURL: uploadURL, APIBase: s.emuURL, PrivateKey: privateKey}

	srcCfg := s.cfg.source
	if srcCfg.Sleep == nil {
		srcCfg.Sleep = s.sleeps.sleep
	}
	s.opener = source.New(srcCfg)

	p, err := producer.New(producer.Config{
		Redis:    s.rdb,
		Validate: tasks.ValidateOptions{AllowFile: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	s.producer = p
	s.inspector = asynq.NewInspectorFromRedisClient(s.rdb)
	t.Cleanup(func() { _ = s.inspector.Close() })

	// Cleanups run last-registered first: this one runs after the worker has stopped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("worker logs:\n%s", s.logs.tail(20000))
		}
	})
	if !s.cfg.noWorker {
		s.worker = s.startWorker(nil)
	}
	return s
}

// runningWorker is a worker whose Run is going in a goroutine.
type runningWorker struct {
	w      *worker.Worker
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, once done is closed
	once   sync.Once
}

// startWorker starts a worker on the stack's Redis, emulator and opener, with the
// stack's config edited by edit (if not nil). It is stopped at cleanup at the latest.
func (s *stack) startWorker(edit func(*worker.Config)) *runningWorker {
	s.t.Helper()
	cfg := s.cfg.worker
	if edit != nil {
		edit(&cfg)
	}
	cfg.Redis = s.rdb
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(s.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := metrics.For(cfg.Registerer)
	if err != nil {
		s.t.Fatal(err)
	}
	w, err := worker.NewTest(worker.TestConfig{Config: cfg, ImageKit: s.ik, Sources: s.opener, Metrics: m})
	if err != nil {
		s.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	rw := &runningWorker{w: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rw.done)
		rw.err = w.Run(ctx)
	}()
	s.t.Cleanup(func() { rw.stop(s.t) })
	return rw
}

// stop cancels Run's ctx and waits for Run to return.
func (rw *runningWorker) stop(t *testing.T) {
	t.Helper()
	rw.once.Do(rw.cancel)
	rw.wait(t)
}

// wait waits for Run to return and fails the test if it returned an error.
func (rw *runningWorker) wait(t *testing.T) {
	t.Helper()
	select {
	case <-rw.done:
	case <-time.After(waitTimeout):
		t.Fatalf("worker.Run did not return within %s of its ctx ending", waitTimeout)
	}
	if rw.err != nil {
		t.Errorf("worker.Run: %v", rw.err)
	}
}

// enqueue enqueues u and fails the test if the producer refuses it.
func (s *stack) enqueue(u tasks.Upload) *jobstore.Job {
	s.t.Helper()
	job, err := s.producer.Enqueue(s.t.Context(), u)
	if err != nil {
		s.t.Fatalf("Enqueue: %v", err)
	}
	return job
}

// waitFor polls the job every 50ms until it reaches one of statuses, and fails the
// test after waitTimeout with the job's record (events included).
func waitFor(t *testing.T, p *producer.Client, jobID string, statuses ...jobstore.Status) *jobstore.Job {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	var last *jobstore.Job
	for {
		job, err := p.Get(context.Background(), jobID)
		if err == nil {
			last = job
			for _, st := range statuses {
				if job.Status == st {
					return job
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s did not reach %v within %s (last error %v); record:\n%s", jobID, statuses, waitTimeout, err, recordText(last))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// eventually polls cond every 50ms and fails the test with what() after waitTimeout.
func eventually(t *testing.T, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %s", waitTimeout, what())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func recordText(j *jobstore.Job) string {
	if j == nil {
		return "(none)"
	}
	b, _ := json.MarshalIndent(j, "", "  ")
	return string(b)
}

// taskState returns the asynq state of the job's task, or "gone" once asynq has
// deleted it (a task that succeeded).
func (s *stack) taskState(job *jobstore.Job) string {
	s.t.Helper()
	info, err := s.inspector.GetTaskInfo(job.Queue, job.ID)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return "gone"
	case err != nil:
		s.t.Fatalf("GetTaskInfo(%s, %s): %v", job.Queue, job.ID, err)
	}
	return info.State.String()
}

// waitTaskState waits until the job's asynq task is in one of states.
func (s *stack) waitTaskState(job *jobstore.Job, states ...string) {
	s.t.Helper()
	var last string
	eventually(s.t, func() string {
		return fmt.Sprintf("task %s is %s, want one of %v", job.ID, last, states)
	}, func() bool {
		last = s.taskState(job)
		for _, st := range states {
			if last == st {
				return true
			}
		}
		return false
	})
}

// --- emulator helpers, over HTTP as a client would use them ---

// emuDo sends a request to the emulator with the private key and decodes a 2xx JSON
// answer into out (if not nil).
func (s *stack) emuDo(method, path, body string, out any) {
	s.t.Helper()
	req, err := http.NewRequest(method, s.emuURL+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	req.SetBasicAuth(privateKey, "")
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		s.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			s.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// fault scripts the emulator's next uploads: {"status":500,"count":2} or a list.
func (s *stack) fault(script string) { s.emuDo(http.MethodPost, "/_emulator/faults", script, nil) }

// stats is GET /_emulator/stats.
func (s *stack) stats() emulator.Stats {
	var st emulator.Stats
	s.emuDo(http.MethodGet, "/_emulator/stats", "", &st)
	return st
}

// storedFile is the part of a files API entry these tests look at.
type storedFile struct {
	FileID            string         `json:"fileId"`
	Name              string         `json:"name"`
	FilePath          string         `json:"filePath"`
	URL               string         `json:"url"`
	Tags              []string       `json:"tags"`
	IsPrivateFile     bool           `json:"isPrivateFile"`
	IsPublished       bool           `json:"isPublished"`
	CustomCoordinates *string        `json:"customCoordinates"`
	CustomMetadata    map[string]any `json:"customMetadata"`
	Description       string         `json:"description"`
	VersionInfo       struct {
		ID, Name string
	} `json:"versionInfo"`
}

// files lists the stored files named name, in every folder.
func (s *stack) files(name string) []storedFile {
	s.t.Helper()
	var out []storedFile
	q := fmt.Sprintf(`type = "file" AND name = %q`, name) // no path: every folder
	s.emuDo(http.MethodGet, "/v1/files?searchQuery="+url.QueryEscape(q), "", &out)
	return out
}

// createMetadataField creates a Text custom metadata field.
func (s *stack) createMetadataField(name string) {
	s.emuDo(http.MethodPost, "/v1/customMetadataFields",
		fmt.Sprintf(`{"name":%q,"label":%q,"schema":{"type":"Text"}}`, name, name), nil)
}

// --- results ---

// uploadResult is the part of job.result these tests read.
type uploadResult struct {
	FileID   string `json:"fileId"`
	Name     string `json:"name"`
	FilePath string `json:"filePath"`
	URL      string `json:"url"`
	Size     int64  `json:"size"`
}

func resultOf(t *testing.T, job *jobstore.Job) uploadResult {
	t.Helper()
	var r uploadResult
	if err := json.Unmarshal(job.Result, &r); err != nil {
		t.Fatalf("job %s result %q: %v", job.ID, job.Result, err)
	}
	return r
}

// get fetches u and returns its body, failing unless the answer is 200.
func get(t *testing.T, u string) []byte {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// eventsIn returns the job's events in state st.
func eventsIn(job *jobstore.Job, st jobstore.Status) []jobstore.Event {
	var out []jobstore.Event
	for _, e := range job.Events {
		if e.State == st {
			out = append(out, e)
		}
	}
	return out
}

// --- sources ---

// pngBytes returns a w×h PNG whose pixels depend on seed, so every test uploads
// different bytes.
func pngBytes(t testing.TB, seed, w, h int) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.NRGBA{uint8(x*seed + y), uint8(y*seed + 7), uint8(seed), 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// sourceServer serves one file at any path, and counts requests. handle, when set,
// runs first and may answer instead (returning true).
type sourceServer struct {
	*httptest.Server
	body     []byte
	requests atomic.Int64
	mu       sync.Mutex
	agents   []string
	handle   func(n int64, w http.ResponseWriter, r *http.Request) bool
}

func newSourceServer(t *testing.T, body []byte, handle func(n int64, w http.ResponseWriter, r *http.Request) bool) *sourceServer {
	t.Helper()
	s := &sourceServer{body: body, handle: handle}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		s.mu.Lock()
		s.agents = append(s.agents, r.UserAgent())
		s.mu.Unlock()
		if s.handle != nil && s.handle(n, w, r) {
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
		_, _ = w.Write(s.body)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *sourceServer) userAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.agents...)
}

// slowSource serves body in two halves: the first at once, the second only once
// release is called (or the client goes away). started receives once per request.
// Requests after release get the whole body at once.
type slowSource struct {
	*sourceServer
	started  chan struct{}
	released chan struct{}
	once     sync.Once
}

func newSlowSource(t *testing.T, body []byte) *slowSource {
	t.Helper()
	s := &slowSource{started: make(chan struct{}, 16), released: make(chan struct{})}
	s.sourceServer = newSourceServer(t, body, func(_ int64, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-s.released:
			return false
		default:
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		w.(http.Flusher).Flush()
		s.started <- struct{}{}
		select {
		case <-s.released:
			_, _ = w.Write(body[half:])
		case <-r.Context().Done():
		}
		return true
	})
	// Registered after the server's Close, so it runs before it: Close waits for
	// handlers, and none may be left blocked.
	t.Cleanup(s.release)
	return s
}

func (s *slowSource) release() { s.once.Do(func() { close(s.released) }) }

// waitStarted waits until a request to the source has begun streaming.
func (s *slowSource) waitStarted(t *testing.T) {
	t.Helper()
	select {
	case <-s.started:
	case <-time.After(waitTimeout):
		t.Fatalf("no request reached the slow source within %s", waitTimeout)
	}
}

// sleepRecorder is the opener's Sleep: it records each wait and returns at once.
type sleepRecorder struct {
	mu    sync.Mutex
	waits []time.Duration
}

func (r *sleepRecorder) sleep(ctx context.Context, d time.Duration) error {
	r.mu.Lock()
	r.waits = append(r.waits, d)
	r.mu.Unlock()
	return ctx.Err()
}

func (r *sleepRecorder) recorded() []time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]time.Duration(nil), r.waits...)
}

// syncBuffer is a bytes.Buffer safe for the worker's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

func (b *syncBuffer) tail(n int) string {
	s := b.String()
	if len(s) > n {
		s = "…" + s[len(s)-n:]
	}
	return s
}

// lines returns the log lines that contain sub.
func (b *syncBuffer) lines(sub string) []string {
	var out []string
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
