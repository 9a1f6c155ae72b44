package callback

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// TestMain stops the package's private redis-server when the tests end.
func TestMain(m *testing.M) { ikqtest.Main(m) }

// testSecret is a Standard Webhooks secret: "whsec_" + base64 of 24 bytes.
const testSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// env is a test's Redis database and job store.
type env struct {
	rdb   *redis.Client
	store *jobstore.Store
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	return &env{rdb: rdb, store: jobstore.New(rdb, jobstore.Options{})}
}

func (e *env) deliverer(t *testing.T, secret string) *Deliverer {
	t.Helper()
	d, err := New(Config{Store: e.store, Secret: secret})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return d
}

// finishedJob creates a job with spec u and moves it to completed, as the worker would.
func (e *env) finishedJob(t *testing.T, u tasks.Upload) *jobstore.Job {
	t.Helper()
	ctx := t.Context()
	if u.File == "" {
		u.File, u.FileName = "https://example.com/a.jpg", "a.jpg"
	}
	spec, _ := json.Marshal(u)
	redacted, _ := json.Marshal(u.Redacted())
	j := &jobstore.Job{Queue: tasks.QueueDefault, MaxAttempts: 3, Request: redacted}
	if u.CallbackURL != "" {
		j.Callback = &jobstore.Callback{URL: tasks.RedactURL(u.CallbackURL), Status: StatusPending}
	}
	job, _, err := e.store.Create(ctx, j, spec)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	for _, s := range []jobstore.Status{jobstore.StatusActive, jobstore.StatusCompleted} {
		if _, err := e.store.Transition(ctx, job.ID, s, string(s), nil); err != nil {
			t.Fatalf("Transition to %s: %v", s, err)
		}
	}
	return job
}

func (e *env) get(t *testing.T, id string) *jobstore.Job {
	t.Helper()
	j, err := e.store.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	return j
}

// receiver is an app's endpoint: it answers each request with the next status of
// script (200 once script runs out) and keeps what it got.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	script []int
	got    []request
}

type request struct {
	method string
	uri    string // path and query
	header http.Header
	body   []byte
	status int // what the receiver answered
}

func newReceiver(t *testing.T, script ...int) *receiver {
	t.Helper()
	r := &receiver{script: script}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		status := http.StatusOK
		if len(r.script) > 0 {
			status, r.script = r.script[0], r.script[1:]
		}
		r.got = append(r.got, request{req.Method, req.URL.RequestURI(), req.Header.Clone(), body, status})
		r.mu.Unlock()
		if status >= 300 && status < 400 {
			w.Header().Set("Location", "/elsewhere")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, http.StatusText(status))
	}))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) requests() []request {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]request(nil), r.got...)
}
