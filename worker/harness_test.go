package worker_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/worker"
)

func TestMain(m *testing.M) { ikqtest.Main(m) }

const privateKey = e2e.PrivateKey

// stack is one test's pipeline (e2e.Stack: its own Redis database, an emulator on
// loopback, a producer) with the parts these tests build the worker from: the
// ImageKit client, a source opener whose sleeps are recorded, and (unless
// withoutWorker) a running worker.
type stack struct {
	*e2e.Stack
	ik     *imagekit.Client
	opener *source.Opener
	sleeps *sleepRecorder
	cfg    stackConfig
	worker *e2e.RunningWorker // the one newStack started, if any
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
	s := &stack{sleeps: &sleepRecorder{}}
	s.cfg = stackConfig{
		emulator: emulator.Config{
			PrivateKey:      privateKey,
			FetchAllow:      e2e.LoopbackAllow, // remote-fetch sources are loopback servers
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
	s.Stack = e2e.New(t, e2e.Config{Emulator: s.cfg.emulator})

	uploadURL := s.cfg.uploadURL
	if uploadURL == "" {
		uploadURL = s.UploadURL()
	}
	s.ik = &imagekit.Client{UploadURL: uploadURL, APIBase: s.EmuURL, PrivateKey: privateKey}

	srcCfg := s.cfg.source
	if srcCfg.Sleep == nil {
		srcCfg.Sleep = s.sleeps.sleep
	}
	s.opener = source.New(srcCfg)

	if !s.cfg.noWorker {
		s.worker = s.startWorker(nil)
	}
	return s
}

// startWorker starts a worker on the stack's Redis, emulator and opener, with the
// stack's config edited by edit (if not nil). It is stopped at cleanup at the latest.
func (s *stack) startWorker(edit func(*worker.Config)) *e2e.RunningWorker {
	s.T.Helper()
	cfg := s.cfg.worker
	if edit != nil {
		edit(&cfg)
	}
	cfg.Redis = s.RDB
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	m, err := metrics.For(cfg.Registerer)
	if err != nil {
		s.T.Fatal(err)
	}
	w, err := worker.NewTest(worker.TestConfig{Config: cfg, ImageKit: s.ik, Sources: s.opener, Metrics: m})
	if err != nil {
		s.T.Fatal(err)
	}
	return e2e.RunWorker(s.T, w)
}

// countJobs reads the records of jobs and counts those match holds for; text is the
// records, for a failure's message.
func (s *stack) countJobs(jobs []*jobstore.Job, match func(*jobstore.Job) bool) (n int, text string) {
	s.T.Helper()
	for _, j := range jobs {
		got, err := s.Producer.Get(s.T.Context(), j.ID)
		if err != nil {
			s.T.Fatal(err)
		}
		if match(got) {
			n++
		}
		text += e2e.RecordText(got) + "\n"
	}
	return n, text
}

// waitFor polls the job until it reaches one of statuses, and fails the test after
// ikqtest.WaitTimeout with the job's record (events included).
func waitFor(t *testing.T, p *producer.Client, jobID string, statuses ...jobstore.Status) *jobstore.Job {
	t.Helper()
	return e2e.WaitStatus(t, p, jobID, statuses...)
}

// --- emulator helpers, over HTTP as a client would use them ---

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
	s.T.Helper()
	var out []storedFile
	q := fmt.Sprintf(`type = "file" AND name = %q`, name) // no path: every folder
	s.EmuDo(http.MethodGet, "/v1/files?searchQuery="+url.QueryEscape(q), "", &out)
	return out
}

// createMetadataField creates a Text custom metadata field.
func (s *stack) createMetadataField(name string) {
	s.EmuDo(http.MethodPost, "/v1/customMetadataFields",
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

func ptr[T any](v T) *T { return &v }
