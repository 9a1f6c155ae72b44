package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/callback"
	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/tasks"
)

// Config configures a Worker. The zero value of every field but Redis, ImageKit and
// Sources means its default.
type Config struct {
	Redis    redis.UniversalClient
	ImageKit *imagekit.Client
	Sources  *source.Opener

	// Concurrency is the number of uploads in flight; default 32.
	Concurrency int
	// Queues weighs the queues; default critical=6, default=3, low=1.
	Queues map[string]int
	// ShutdownGrace is how long running uploads may take to finish after Run's ctx
	// ends; default 30s. Uploads still running then are handed back to the queue.
	ShutdownGrace time.Duration
	// RetryBase and RetryMax shape the delay between transient attempts: base·2ⁿ with
	// jitter, at most RetryMax. Defaults 5s and 10 minutes.
	RetryBase, RetryMax time.Duration
	// CancelCheck is how often a running upload checks whether its job was canceled;
	// default 2s.
	CancelCheck time.Duration
	// Retention keeps finished jobs' records this long; default 7 days.
	Retention time.Duration
	// PollInterval is how often idle workers look for tasks and due retries; default 1s.
	PollInterval time.Duration
	// Metrics, if not nil, records every attempt's outcome, duration and bytes, and
	// every source's opening (see package metrics).
	Metrics *metrics.Metrics

	// WebhookURL returns the URL ImageKit posts a job's extension results to: the
	// webhook receiver's per-job capability URL. Nil sends the job's own webhookUrl.
	WebhookURL func(jobID string) string
	// TrackTransformations makes jobs with post-transformations wait for their
	// upload.post-transform.* account events. Turn it on where the receiver has the
	// account webhook secret (IKQ_WEBHOOK_SECRET); otherwise nothing would report them.
	TrackTransformations bool
	// CompletionDeadline is how long pending items may take; default 25 hours.
	CompletionDeadline time.Duration
	// CallbackSecret signs job callbacks (IKQ_CALLBACK_SECRET, "whsec_…"). Without it
	// a job's callback fails, recorded on the job, and is not sent.
	CallbackSecret string
	// CallbackClient posts callbacks and relayed webhooks; default: 30 s timeout.
	CallbackClient *http.Client
	// CallbackRetryDelay spaces a callback's or relay's attempts; default
	// callback.RetryDelay, about three days in all.
	CallbackRetryDelay func(n int) time.Duration

	Logger *slog.Logger
	Now    func() time.Time
}

// Worker runs upload tasks.
type Worker struct {
	cfg   Config
	store *jobstore.Store
	srv   *asynq.Server
	mux   *asynq.ServeMux
	log   *slog.Logger
	rand  func(int64) int64
	// queue enqueues follow-up tasks (deadlines, callbacks); tracker records uploads
	// and ends jobs.
	queue   *asynq.Client
	tracker *completion.Tracker
	exists  *existsCache // folder listings for ifExists

	stopping atomic.Bool // Run's ctx has ended
	// running counts handlers in flight: after asynq's Shutdown pushes unfinished
	// tasks back, their handlers are still recording that; Run waits for them.
	mu      sync.Mutex
	running int
	idle    sync.Cond
}

// New returns a Worker; Run starts it.
func New(cfg Config) (*Worker, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("worker: Config.Redis is required")
	case cfg.ImageKit == nil:
		return nil, errors.New("worker: Config.ImageKit is required")
	case cfg.Sources == nil:
		return nil, errors.New("worker: Config.Sources is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 32
	}
	if len(cfg.Queues) == 0 {
		cfg.Queues = map[string]int{tasks.QueueCritical: 6, tasks.QueueDefault: 3, tasks.QueueLow: 1}
	}
	if cfg.ShutdownGrace <= 0 {
		cfg.ShutdownGrace = 30 * time.Second
	}
	if cfg.RetryBase <= 0 {
		cfg.RetryBase = 5 * time.Second
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Minute
	}
	if cfg.CancelCheck <= 0 {
		cfg.CancelCheck = 2 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	if cfg.CallbackRetryDelay == nil {
		cfg.CallbackRetryDelay = callback.RetryDelay
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	w := &Worker{
		cfg:    cfg,
		store:  jobstore.New(cfg.Redis, jobstore.Options{Retention: cfg.Retention, Now: cfg.Now}),
		log:    cfg.Logger,
		rand:   rand.Int64N,
		exists: newExistsCache(),
	}
	w.idle.L = &w.mu
	w.queue = asynq.NewClientFromRedisClient(cfg.Redis)
	w.tracker = completion.New(completion.Config{
		Store: w.store, Redis: cfg.Redis, Queue: w.queue, Deadline: cfg.CompletionDeadline,
		Now: cfg.Now, Logger: cfg.Logger,
	})
	w.mux = asynq.NewServeMux()
	w.mux.Use(w.track, w.awaitRedis, w.logAttempts)
	w.mux.HandleFunc(tasks.TypeUpload, w.handleUpload)
	w.mux.HandleFunc(tasks.TypeDeadline, w.tracker.HandleDeadline)
	deliverer, err := callback.New(callback.Config{
		Store: w.store, Secret: cfg.CallbackSecret, HTTPClient: cfg.CallbackClient,
		Metrics: cfg.Metrics, Now: cfg.Now, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	w.mux.HandleFunc(tasks.TypeCallback, deliverer.HandleCallback)
	w.mux.HandleFunc(tasks.TypeRelay, deliverer.HandleRelay)
	w.srv = asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   cfg.Queues,
		ShutdownTimeout:          cfg.ShutdownGrace,
		RetryDelayFunc:           w.retryDelay,
		IsFailure:                isFailure,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		Logger:                   asynqLogger{cfg.Logger},
		LogLevel:                 asynq.WarnLevel,
	})
	return w, nil
}

// Run processes tasks until ctx ends, then stops taking new ones and gives running
// uploads ShutdownGrace to finish.
func (w *Worker) Run(ctx context.Context) error {
	if err := w.srv.Start(w.mux); err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w.log.Info("worker started", "concurrency", w.cfg.Concurrency, "queues", w.cfg.Queues)
	<-ctx.Done()
	w.log.Info("worker stopping: no new uploads; waiting for running ones", "grace", w.cfg.ShutdownGrace)
	w.stopping.Store(true)
	w.srv.Stop()
	w.srv.Shutdown()
	// Handlers of tasks pushed back at the deadline have had their ctx canceled;
	// wait until they have recorded that, so nothing of this worker runs after Run.
	w.mu.Lock()
	for w.running > 0 {
		w.idle.Wait()
	}
	w.mu.Unlock()
	w.log.Info("worker stopped")
	return nil
}

// track counts the handlers in flight, for Run.
func (w *Worker) track(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		w.mu.Lock()
		w.running++
		w.mu.Unlock()
		defer func() {
			w.mu.Lock()
			if w.running--; w.running == 0 {
				w.idle.Broadcast()
			}
			w.mu.Unlock()
		}()
		return next.ProcessTask(ctx, t)
	})
}

// redisPoll is how often awaitRedis looks whether Redis is back.
const redisPoll = 500 * time.Millisecond

// awaitRedis hands a task's outcome to asynq only once Redis answers, or when the
// task's ctx ends (asynq's lease runs out 30 s after Redis went away). asynq v0.26
// writes the outcome once: if that write fails, its syncer retries it with a
// context already canceled, so the task stays active until the recoverer hands it
// out again, a minute or two later. Held back, the outcome is written as soon as a
// short outage ends.
func (w *Worker) awaitRedis(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		err := next.ProcessTask(ctx, t)
		for ctx.Err() == nil && w.cfg.Redis.Ping(ctx).Err() != nil {
			select {
			case <-ctx.Done():
			case <-time.After(redisPoll):
			}
		}
		return err
	})
}

// Handler returns the worker's task handler, for running tasks without a server.
func (w *Worker) Handler() asynq.Handler { return w.mux }

// retryDelay is asynq's RetryDelayFunc: the delay the handler chose and recorded.
func (w *Worker) retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if t != nil && (t.Type() == tasks.TypeCallback || t.Type() == tasks.TypeRelay) {
		return w.cfg.CallbackRetryDelay(n)
	}
	var d *delayedError
	if errors.As(err, &d) {
		return d.after
	}
	return retryDelay(n, w.cfg.RetryBase, w.cfg.RetryMax, w.rand)
}

// isFailure tells asynq whether a retry uses an attempt: a throttled one does not.
func isFailure(err error) bool {
	var d *delayedError
	return !errors.As(err, &d) || !d.throttled
}

// logAttempts logs every task's outcome with its job id and attempt.
func (w *Worker) logAttempts(next asynq.Handler) asynq.Handler {
	return asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		start := w.cfg.Now()
		err := next.ProcessTask(ctx, t)
		id, _ := asynq.GetTaskID(ctx)
		retried, _ := asynq.GetRetryCount(ctx)
		log := w.log.With("job_id", id, "attempt", retried+1, "type", t.Type(), "duration", w.cfg.Now().Sub(start).Round(time.Millisecond))
		if err != nil {
			log.Warn("task failed", "err", err)
		} else {
			log.Debug("task done")
		}
		return err
	})
}

// asynqLogger sends asynq's own logs to slog.
type asynqLogger struct{ l *slog.Logger }

func (a asynqLogger) Debug(args ...any) { a.l.Debug(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Info(args ...any)  { a.l.Info(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Warn(args ...any)  { a.l.Warn(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Error(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
func (a asynqLogger) Fatal(args ...any) { a.l.Error(fmt.Sprint(args...), "component", "asynq") }
