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

	"github.com/ikq-dev/ikq/internal/callback"
	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/ledger"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/internal/sweeper"
	"github.com/ikq-dev/ikq/tasks"
)

// Worker runs upload tasks.
type Worker struct {
	cfg Config
	parts
	store *jobstore.Store
	srv   *asynq.Server
	mux   *asynq.ServeMux
	log   *slog.Logger
	rand  func(int64) int64
	// queue enqueues follow-up tasks (deadlines, callbacks); tracker records uploads
	// and ends jobs.
	queue   *asynq.Client
	tracker *completion.Tracker
	exists  *ledger.Cache // folder listings for ifExists
	cancels cancelWatch   // running uploads, watched for their job's cancel
	uploads chan struct{} // Config.Concurrency places: a source opened and streamed to ImageKit
	trouble *redisTrouble // when the Redis client last met a node down

	stopping atomic.Bool // Run's ctx has ended
	// running counts handlers in flight: after asynq's Shutdown pushes unfinished
	// tasks back, their handlers are still recording that; Run waits for them.
	mu      sync.Mutex
	running int
	idle    sync.Cond
}

// New returns a Worker built from cfg: its Upload API client, its source opener
// (behind an SSRF guard that callbacks go through too) and its metrics. Run starts
// it; Close releases what New opened.
func New(cfg Config) (*Worker, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	p, err := cfg.build()
	if err != nil {
		return nil, err
	}
	w, err := newWorker(cfg, p)
	if err != nil {
		for _, c := range p.closers {
			_ = c()
		}
		return nil, err
	}
	return w, nil
}

// parts are what New builds from Config; tests give their own instead.
type parts struct {
	ik       *imagekit.Client
	sources  *source.Opener
	metrics  *metrics.Metrics
	callback *http.Client // posts callbacks and relayed webhooks
	closers  []func() error
}

func newWorker(cfg Config, p parts) (*Worker, error) {
	switch {
	case cfg.Redis == nil:
		return nil, errors.New("worker: Config.Redis is required")
	case p.ik == nil:
		return nil, errors.New("worker: an ImageKit client is required")
	case p.sources == nil:
		return nil, errors.New("worker: a source opener is required")
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
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
		cfg:   cfg,
		parts: p,
		store: jobstore.New(cfg.Redis, jobstore.Options{Retention: cfg.Retention, Now: cfg.Now,
			WaitReplicas: cfg.WaitReplicas, WaitTimeout: cfg.WaitTimeout}),
		log:     cfg.Logger,
		rand:    rand.Int64N,
		exists:  ledger.New(),
		uploads: make(chan struct{}, cfg.Concurrency),
	}
	w.idle.L = &w.mu
	w.trouble = &redisTrouble{}
	cfg.Redis.AddHook(w.trouble)
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
		Store: w.store, Secret: cfg.CallbackSecret, HTTPClient: p.callback,
		Metrics: p.metrics, Now: cfg.Now, Logger: cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	w.mux.HandleFunc(tasks.TypeCallback, deliverer.HandleCallback)
	w.mux.HandleFunc(tasks.TypeRelay, deliverer.HandleRelay)
	w.srv = asynq.NewServerFromRedisClient(cfg.Redis, asynq.Config{
		Concurrency:              cfg.Concurrency + staged(cfg.Concurrency),
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
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		if w.cfg.SweepInterval >= 0 {
			sweeper.New(sweeper.Config{
				Store: w.store, Redis: w.cfg.Redis, Interval: w.cfg.SweepInterval,
				Grace: w.cfg.SweepGrace, Logger: w.log,
			}).Run(ctx)
		}
	}()
	defer func() { <-swept }()
	// Shutdown keeps running uploads going for ShutdownGrace: so does their watch.
	watchCtx, stopWatch := context.WithCancel(context.WithoutCancel(ctx))
	watched := make(chan struct{})
	go func() { defer close(watched); w.runCancelWatch(watchCtx) }()
	defer func() { stopWatch(); <-watched }()
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

// Close releases what New opened (object-store connections). Call it after Run
// has returned.
func (w *Worker) Close() error {
	var errs []error
	for _, c := range w.closers {
		errs = append(errs, c())
	}
	return errors.Join(errs...)
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
		if !w.trouble.recent() {
			return err // no node was down lately: no PING per task
		}
		for ctx.Err() == nil && redisurl.Ping(ctx, w.cfg.Redis) != nil {
			select {
			case <-ctx.Done():
			case <-time.After(redisPoll):
			}
		}
		return err
	})
}

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
	return !errors.As(err, &d) || !d.throttled && !d.free
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
