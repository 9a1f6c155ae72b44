package e2e

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/apiserver"
	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/webhook"
	"github.com/ikq-dev/ikq/worker"
)

// PrivateKey is the emulator's private key unless Config.Emulator names another,
// and so the workers'.
const PrivateKey = "private_test"

// LoopbackAllow is the SSRF allow-list of the stack: the sources and callbacks of
// tests are loopback servers.
var LoopbackAllow = []string{"127.0.0.0/8", "::1"}

// Config is what a test may change of its stack. The zero value is a stack without
// the API.
type Config struct {
	// Emulator is the emulator's configuration. PrivateKey defaults to PrivateKey
	// and FetchAllow to LoopbackAllow. With the API, the account webhooks are sent to
	// it, signed with AccountSecret.
	Emulator emulator.Config

	// API starts the API server (REST API and webhook receiver) on loopback.
	API bool
	// AccountSecret is the ImageKit dashboard's webhook secret, shared by the
	// emulator and the receiver.
	AccountSecret string
	// APIMiddleware, when set, wraps the API's handler (to record or hold requests).
	APIMiddleware func(http.Handler) http.Handler

	// LogTail is how much of the stack's logs a failed test shows (default 20000).
	LogTail int
}

// Stack is one test's pipeline.
type Stack struct {
	T         *testing.T
	Redis     *redistest.Redis
	RDB       *redis.Client
	Producer  *producer.Client
	Inspector *asynq.Inspector
	// Logs is what every part of the stack logged, as JSON lines at debug level.
	Logs   *ikqtest.LockedBuffer
	Logger *slog.Logger

	Emu        *emulator.Server
	EmuURL     string
	PrivateKey string

	// With Config.API:
	APIURL     string
	Capability *webhook.Capability
}

// New starts the stack. Its parts stop at the test's cleanup.
func New(t *testing.T, cfg Config) *Stack {
	t.Helper()
	s := &Stack{T: t, Logs: &ikqtest.LockedBuffer{}}
	tail := cfg.LogTail
	if tail == 0 {
		tail = 20000
	}
	// Registered first, so it runs last: after the workers and servers have stopped.
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("stack logs (tail):\n%s", s.Logs.Tail(tail))
		}
	})
	s.Logger = slog.New(slog.NewJSONHandler(s.Logs, &slog.HandlerOptions{Level: slog.LevelDebug}))

	s.Redis = redistest.New(t)
	s.RDB = s.Redis.Client(t)

	pcfg := producer.Config{Redis: s.RDB, Validate: tasks.ValidateOptions{AllowFile: true}}
	if cfg.API {
		pcfg.Logger = s.Logger.With("component", "producer")
	}
	p, err := producer.New(pcfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("closing the producer: %v", err)
		}
	})
	s.Producer = p
	// The inspector shares the stack's client, which redistest closes: it has
	// nothing of its own to close (asynq refuses to close a shared client).
	s.Inspector = asynq.NewInspectorFromRedisClient(s.RDB)

	ecfg := cfg.Emulator
	if ecfg.PrivateKey == "" {
		ecfg.PrivateKey = PrivateKey
	}
	if ecfg.FetchAllow == nil {
		ecfg.FetchAllow = LoopbackAllow
	}
	if cfg.API {
		s.startAPI(cfg)
		ecfg.AccountWebhookURL = s.APIURL + webhook.AccountPath
		ecfg.AccountWebhookSecret = cfg.AccountSecret
		ecfg.Logger = s.Logger.With("component", "emulator")
	}
	s.PrivateKey = ecfg.PrivateKey
	s.Emu, s.EmuURL = StartEmulator(t, ecfg)
	return s
}

// StartEmulator serves an emulator over HTTP on loopback until the test ends.
func StartEmulator(t testing.TB, cfg emulator.Config) (*emulator.Server, string) {
	t.Helper()
	emu, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() {
		ts.Close()
		if err := emu.Close(); err != nil {
			t.Errorf("closing the emulator: %v", err)
		}
	})
	return emu, ts.URL
}

// startAPI serves the producer REST API and the webhook receiver, as `ikq api` does.
func (s *Stack) startAPI(cfg Config) {
	t := s.T
	t.Helper()
	capSecret, err := webhook.LoadOrCreateSecret(t.Context(), s.RDB, "")
	if err != nil {
		t.Fatal(err)
	}
	if s.Capability, err = webhook.NewCapability(capSecret); err != nil {
		t.Fatal(err)
	}
	hooks, err := webhook.NewHandler(webhook.Config{
		Capability:    s.Capability,
		AccountSecret: cfg.AccountSecret,
		Redis:         s.RDB,
		Logger:        s.Logger.With("component", "webhook"),
	})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := apiserver.New(apiserver.Config{
		Webhooks: hooks,
		Redis:    s.RDB,
		RedisOpt: s.Redis.AsynqOpt(),
		Producer: s.Producer,
		Logger:   s.Logger.With("component", "api"),
	})
	if err != nil {
		t.Fatal(err)
	}
	var h http.Handler = srv
	if cfg.APIMiddleware != nil {
		h = cfg.APIMiddleware(h)
	}
	api := httptest.NewServer(h)
	t.Cleanup(func() {
		api.Close()
		if err := srv.Close(); err != nil {
			t.Errorf("closing the API server: %v", err)
		}
	})
	s.APIURL = api.URL
}

// UploadURL is the emulator's Upload API endpoint.
func (s *Stack) UploadURL() string { return s.EmuURL + "/api/v1/files/upload" }

// StartWorker starts a worker built from public configuration, as `ikq worker`
// builds it: cfg with the stack's Redis, emulator, private key and logger filled in
// where unset, the loopback sources allowed, and with the API the capability URL as
// its webhookUrl. It is stopped and closed at cleanup at the latest.
func (s *Stack) StartWorker(cfg worker.Config) *RunningWorker {
	s.T.Helper()
	cfg.Redis = s.RDB
	if cfg.UploadURL == "" {
		cfg.UploadURL = s.UploadURL()
	}
	if cfg.APIURL == "" {
		cfg.APIURL = s.EmuURL
	}
	if cfg.PrivateKey == "" {
		cfg.PrivateKey = s.PrivateKey
	}
	if cfg.Sources.FetchAllow == nil {
		cfg.Sources.FetchAllow = LoopbackAllow
	}
	if cfg.WebhookURL == nil && s.Capability != nil {
		cfg.WebhookURL = func(id string) string { return s.Capability.URL(s.APIURL, id) }
	}
	if cfg.Logger == nil {
		cfg.Logger = s.Logger.With("component", "worker")
	}
	w, err := worker.New(cfg)
	if err != nil {
		s.T.Fatal(err)
	}
	// Registered before Run's stop, so it runs after it.
	s.T.Cleanup(func() {
		if err := w.Close(); err != nil {
			s.T.Errorf("closing the worker: %v", err)
		}
	})
	return RunWorker(s.T, w)
}

// RunningWorker is a worker whose Run is going in a goroutine.
type RunningWorker struct {
	W      *worker.Worker
	cancel context.CancelFunc
	done   chan struct{}
	err    error // Run's result, once done is closed
	once   sync.Once
}

// RunWorker runs w until Stop, or the test's cleanup at the latest; Run must then
// return nil.
func RunWorker(t testing.TB, w *worker.Worker) *RunningWorker {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background()) //nolint:gosec // G118: Stop calls cancel, at cleanup at the latest
	rw := &RunningWorker{W: w, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(rw.done)
		rw.err = w.Run(ctx)
	}()
	t.Cleanup(func() { rw.Stop(t) })
	return rw
}

// Cancel cancels Run's ctx, as SIGTERM does, and returns at once.
func (rw *RunningWorker) Cancel() { rw.once.Do(rw.cancel) }

// Stop cancels Run's ctx and waits for Run to return.
func (rw *RunningWorker) Stop(t testing.TB) {
	t.Helper()
	rw.Cancel()
	rw.Wait(t)
}

// Wait waits for Run to return and fails the test if it returned an error.
func (rw *RunningWorker) Wait(t testing.TB) {
	t.Helper()
	select {
	case <-rw.done:
	case <-time.After(ikqtest.WaitTimeout):
		t.Fatalf("worker.Run did not return within %s of its ctx ending", ikqtest.WaitTimeout)
	}
	if rw.err != nil {
		t.Errorf("worker.Run: %v", rw.err)
	}
}

// Done is closed once Run has returned.
func (rw *RunningWorker) Done() <-chan struct{} { return rw.done }

// Enqueue enqueues u and fails the test if the producer refuses it.
func (s *Stack) Enqueue(u tasks.Upload) *tasks.Job {
	s.T.Helper()
	job, err := s.Producer.Enqueue(s.T.Context(), u)
	if err != nil {
		s.T.Fatalf("Enqueue: %v", err)
	}
	return job
}

// WaitStatus polls the job through p until it is in one of statuses, and fails the
// test after ikqtest.WaitTimeout with the job's record, events included.
func WaitStatus(t testing.TB, p *producer.Client, jobID string, statuses ...tasks.Status) *tasks.Job {
	t.Helper()
	var last *tasks.Job
	var lastErr error
	ikqtest.Eventually(t, func() string {
		return fmt.Sprintf("job %s did not reach %v (last error %v); record:\n%s", jobID, statuses, lastErr, RecordText(last))
	}, func() bool {
		job, err := p.Get(context.Background(), jobID)
		lastErr = err
		if err != nil {
			return false
		}
		last = job
		return slices.Contains(statuses, job.Status)
	})
	return last
}

// TaskState is the asynq state of the job's task, or "gone" once asynq has deleted
// it (a task that succeeded).
func (s *Stack) TaskState(job *tasks.Job) string {
	s.T.Helper()
	info, err := s.Inspector.GetTaskInfo(job.Queue, job.ID)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return "gone"
	case err != nil:
		s.T.Fatalf("GetTaskInfo(%s, %s): %v", job.Queue, job.ID, err)
	}
	return info.State.String()
}

// WaitTaskState waits until the job's asynq task is in one of states.
func (s *Stack) WaitTaskState(job *tasks.Job, states ...string) {
	s.T.Helper()
	var last string
	ikqtest.Eventually(s.T, func() string {
		return fmt.Sprintf("task %s is %s, want one of %v", job.ID, last, states)
	}, func() bool {
		last = s.TaskState(job)
		return slices.Contains(states, last)
	})
}

// QueueIdle reports whether no task of the stack's queues is pending, running or
// waiting to be retried (scheduled deadlines do not count).
func (s *Stack) QueueIdle() bool {
	queues, err := s.Inspector.Queues()
	if err != nil {
		return false
	}
	for _, q := range queues {
		info, err := s.Inspector.GetQueueInfo(q)
		if err != nil || info.Pending+info.Active+info.Retry > 0 {
			return false
		}
	}
	return true
}
