package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// Config configures a Client. The zero value of every field but Redis means its default.
type Config struct {
	// Redis holds the queue and the job records. Required.
	Redis redis.UniversalClient
	// Validate sets what sources jobs may name (schemes, file://, inline size).
	Validate tasks.ValidateOptions
	// TaskTimeout bounds one attempt of an upload; default 1 hour, sized for large files.
	TaskTimeout time.Duration
	// Retention keeps finished jobs' records this long; default 7 days.
	Retention time.Duration
	// WaitReplicas makes Enqueue return only once this many Redis replicas have the
	// new job's record, so that a failover cannot lose a job the caller was told
	// about; when fewer confirm within WaitTimeout, Enqueue fails with an error
	// matching ErrNotReplicated and queues nothing (calling again with the same
	// IdempotencyKey is safe). 0, the default: no wait.
	WaitReplicas int
	// WaitTimeout bounds that wait; default 1s.
	WaitTimeout time.Duration
	// StopWait is how long Retry waits for a worker to let go of the task of a job
	// canceled while it ran, before answering ErrStillStopping; default 5s.
	StopWait time.Duration
	// Queue, when set, is the asynq queue every job of this client goes to, instead
	// of the job's own (critical, default or low). ikq bulk uploading from where it
	// runs uses a queue private to its run, which only its own worker serves.
	Queue  string
	Logger *slog.Logger
	Now    func() time.Time
}

// Client enqueues upload jobs and reads, cancels and retries them.
type Client struct {
	cfg       Config
	queue     *asynq.Client
	inspector *asynq.Inspector
	store     *jobstore.Store
	tracker   *completion.Tracker
}

// New returns a Client. Close it when done; it does not close cfg.Redis.
func New(cfg Config) (*Client, error) {
	if cfg.Redis == nil {
		return nil, errors.New("producer: Config.Redis is required")
	}
	if cfg.WaitReplicas < 0 {
		return nil, fmt.Errorf("producer: Config.WaitReplicas is negative (%d)", cfg.WaitReplicas)
	}
	if cfg.TaskTimeout <= 0 {
		cfg.TaskTimeout = tasks.DefaultTaskTimeout
	}
	if cfg.StopWait <= 0 {
		cfg.StopWait = 5 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	c := &Client{
		cfg:       cfg,
		queue:     asynq.NewClientFromRedisClient(cfg.Redis),
		inspector: asynq.NewInspectorFromRedisClient(cfg.Redis),
		store: jobstore.New(cfg.Redis, jobstore.Options{Retention: cfg.Retention, Now: cfg.Now,
			WaitReplicas: cfg.WaitReplicas, WaitTimeout: cfg.WaitTimeout}),
	}
	c.tracker = completion.New(completion.Config{Store: c.store, Redis: cfg.Redis, Queue: c.queue, Now: cfg.Now, Logger: cfg.Logger})
	return c, nil
}

// Close releases the client. Its asynq client and inspector use cfg.Redis, which the
// caller owns and closes, so there is nothing else to release: asynq's own Close of a
// shared connection does nothing but return an error.
func (c *Client) Close() error { return nil }

// Enqueue validates a job and queues it. A job with the IdempotencyKey of an earlier
// one returns that job instead of making a second. A job that fails validation gets
// a *tasks.ValidationError listing every problem, and nothing is written.
func (c *Client) Enqueue(ctx context.Context, u tasks.Upload) (*tasks.Job, error) {
	r := c.Submit(ctx, u)
	return r.Job, r.Err
}

// Submit is Enqueue that also reports, in Result.Existed, whether the job's
// IdempotencyKey returned an earlier job (the REST API answers those 200, not 202).
func (c *Client) Submit(ctx context.Context, u tasks.Upload) Result {
	job, existed, err := c.enqueue(ctx, u)
	return Result{Job: job, Existed: existed, Err: err}
}

func (c *Client) enqueue(ctx context.Context, u tasks.Upload) (_ *tasks.Job, existed bool, _ error) {
	job, spec, err := c.prepare(u)
	if err != nil {
		return nil, false, err
	}
	stored, existed, err := c.store.Create(ctx, job, spec)
	if err != nil {
		return nil, false, fmt.Errorf("producer: recording job: %w", err)
	}
	r := c.queued(ctx, Result{Job: stored, Existed: existed}, u.RunAt)
	return r.Job, r.Existed, r.Err
}

// prepare validates u and makes the record and the spec Create stores for it.
func (c *Client) prepare(u tasks.Upload) (*tasks.Job, json.RawMessage, error) {
	if err := u.Validate(c.cfg.Validate); err != nil {
		return nil, nil, err
	}
	spec, err := json.Marshal(u)
	if err != nil {
		return nil, nil, fmt.Errorf("producer: encoding job: %w", err)
	}
	redacted, err := json.Marshal(u.Redacted())
	if err != nil {
		return nil, nil, fmt.Errorf("producer: encoding job: %w", err)
	}
	return &tasks.Job{
		Queue:          c.queueOf(&u),
		MaxAttempts:    u.Attempts(),
		IdempotencyKey: u.IdempotencyKey,
		Run:            u.Run,
		Request:        redacted,
		Callback:       callbackOf(u),
	}, spec, nil
}

// queued queues the task of a job just recorded (r): a new job, or one recorded by
// an earlier call that may have stopped before its task was queued (the task id is
// the job id, so queueing twice is harmless). A new job whose task cannot be queued
// is deleted again.
func (c *Client) queued(ctx context.Context, r Result, runAt *time.Time) Result {
	if r.Existed && r.Job.Status != tasks.StatusQueued {
		return r
	}
	if err := c.enqueueTask(ctx, r.Job, runAt); err != nil {
		if !r.Existed {
			_ = c.store.Delete(context.WithoutCancel(ctx), r.Job.ID)
		}
		return Result{Err: err}
	}
	c.cfg.Logger.Info("job enqueued", "job_id", r.Job.ID, "queue", r.Job.Queue)
	return r
}

// queueOf is the queue of a job: Config.Queue, else the job's own.
func (c *Client) queueOf(u *tasks.Upload) string {
	if c.cfg.Queue != "" {
		return c.cfg.Queue
	}
	return u.QueueName()
}

func (c *Client) enqueueTask(ctx context.Context, job *tasks.Job, runAt *time.Time) error {
	err := c.queueTask(ctx, job, runAt)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// queueTask queues the job's task; a task of the same id, in any state, is an
// error wrapping asynq.ErrTaskIDConflict.
func (c *Client) queueTask(ctx context.Context, job *tasks.Job, runAt *time.Time) error {
	var opts []asynq.Option
	if runAt != nil {
		opts = append(opts, asynq.ProcessAt(*runAt))
	}
	task, err := tasks.JobUploadTask(job, c.cfg.TaskTimeout, opts...)
	if err != nil {
		return err
	}
	_, err = c.queue.EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) || errors.Is(err, asynq.ErrDuplicateTask) {
		return fmt.Errorf("producer: queueing job: %w", err)
	}
	if err != nil {
		// asynq keeps only the text of Redis' errors: what failed is the queue.
		return fmt.Errorf("producer: queueing job: %w: %w", tasks.ErrQueueUnavailable, err)
	}
	return nil
}

// Get returns a job's record, or an error wrapping ErrNotFound.
func (c *Client) Get(ctx context.Context, id string) (*tasks.Job, error) {
	return c.store.Get(ctx, id)
}

// List returns jobs newest first, optionally of one status, a page at a time, and
// the cursor of the next page ("" after the last). Jobs that expired while being
// listed are skipped.
func (c *Client) List(ctx context.Context, o tasks.ListOptions) (jobs []*tasks.Job, nextCursor string, err error) {
	return c.store.List(ctx, o)
}

// Cancel stops a job that has not been uploaded yet. A canceled job is never
// uploaded afterwards: the worker checks the job's state before and during the upload.
// A job already uploaded or finished is an error matching ErrIllegalTransition (a
// *tasks.TransitionError); an unknown id, ErrNotFound.
func (c *Client) Cancel(ctx context.Context, id string) (*tasks.Job, error) {
	job, err := c.store.Transition(ctx, id, tasks.StatusCanceled, "canceled by the producer", nil)
	if err != nil {
		return nil, err
	}
	// Best effort: drop the waiting task, or interrupt the running one.
	if err := c.inspector.DeleteTask(job.Queue, id); err != nil {
		_ = c.inspector.CancelProcessing(id)
	}
	if err := c.tracker.Finished(ctx, job); err != nil {
		return job, fmt.Errorf("producer: job canceled, but its callback was not queued: %w", err)
	}
	return job, nil
}

// callbackOf is the callback part of a new job's record. The record shows the URL
// redacted; the callback goes to the spec's own.
func callbackOf(u tasks.Upload) *tasks.Callback {
	if u.CallbackURL == "" {
		return nil
	}
	return &tasks.Callback{URL: tasks.RedactURL(u.CallbackURL)}
}

// Errors of the client's methods, to classify with errors.Is. They are package
// tasks' own, so either name matches.
var (
	// ErrNotFound: no job has this id (never created, or expired).
	ErrNotFound = tasks.ErrNotFound
	// ErrIllegalTransition: the job's status does not allow the call: Cancel of an
	// uploaded or finished job, Retry of one neither failed nor canceled.
	ErrIllegalTransition = tasks.ErrIllegalTransition
	// ErrConflict: concurrent writes to the job kept racing; calling again wins.
	ErrConflict = tasks.ErrConflict
	// ErrNotReplicated: Config.WaitReplicas replicas did not confirm a new job in
	// time; calling again with the same IdempotencyKey is safe.
	ErrNotReplicated = tasks.ErrNotReplicated
	// ErrQueueUnavailable: Redis did not take the job's task; nothing was kept (a job
	// recorded by an earlier call with the same idempotency key stays, and calling
	// again queues its task).
	ErrQueueUnavailable = tasks.ErrQueueUnavailable
)

// ValidationError is what Enqueue returns for a job that breaks rules: every
// problem, each with its field. Nothing was written.
type ValidationError = tasks.ValidationError

// ErrStillStopping is Retry's answer when a worker still holds the task of a job
// canceled while it ran (it stops within seconds; a worker that died holding it lets
// go when asynq recovers the task, within two minutes). Nothing was changed: retry
// later.
var ErrStillStopping = errors.New("producer: the job's canceled run has not stopped yet")

// stopPoll is how often Retry looks whether a worker has let go of a task.
const stopPoll = 50 * time.Millisecond

// Retry runs a failed or canceled job again from its first attempt, with a new task.
// A job in any other state is an error matching ErrIllegalTransition; an unknown
// id, ErrNotFound.
func (c *Client) Retry(ctx context.Context, id string) (*tasks.Job, error) {
	// A job canceled while it ran may still have its task held by a worker that is
	// stopping it. That run must end while the job is still canceled: the worker
	// sees the cancel and stops, and its task ends deleted, archived or waiting for
	// a retry, all of which requeue can replace. Requeued sooner, the job would let
	// the run go on, or be left with no task when the run's task ends.
	job, err := c.store.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if job.Status == tasks.StatusCanceled || job.Status == tasks.StatusFailed {
		if err := c.waitTaskLetGo(ctx, job); err != nil {
			return nil, err
		}
	}
	var before tasks.Job
	job, err = c.store.Transition(ctx, id, tasks.StatusQueued, "retried by the producer", func(j *tasks.Job) error {
		before = *j
		j.Attempts = 0
		j.Error = nil
		j.NextAttemptAt = nil
		return nil
	})
	if err != nil {
		return nil, err
	}
	if err := c.requeue(ctx, job); err != nil {
		// Put the job back as it was: left queued without a task it would never run,
		// and Retry, which takes only failed or canceled jobs, could not run it again.
		_, _ = c.store.Transition(context.WithoutCancel(ctx), id, before.Status, "retry failed: its task could not be queued", func(j *tasks.Job) error {
			j.Attempts, j.Error, j.NextAttemptAt = before.Attempts, before.Error, before.NextAttemptAt
			return nil
		})
		return nil, err
	}
	return job, nil
}

// waitTaskLetGo waits, at most StopWait, until no worker holds the job's task.
func (c *Client) waitTaskLetGo(ctx context.Context, job *tasks.Job) error {
	deadline := c.cfg.Now().Add(c.cfg.StopWait)
	for {
		info, err := c.inspector.GetTaskInfo(job.Queue, job.ID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
			return nil
		case err != nil:
			return fmt.Errorf("producer: reading the job's task: %w", err)
		case info.State != asynq.TaskStateActive:
			return nil
		}
		if err := c.pause(ctx, deadline); err != nil {
			return err
		}
	}
}

// requeue gives a retried job a fresh task under its id, starting again from the
// first attempt. What is left of the old task goes first: archived after its last
// failure, or waiting for the retry asynq scheduled when a cancel interrupted it.
// A worker may take the old task at any moment: one that takes it now runs the job,
// which is queued again; one that took it just before sees the job canceled and
// lets go within moments.
func (c *Client) requeue(ctx context.Context, job *tasks.Job) error {
	deadline := c.cfg.Now().Add(c.cfg.StopWait)
	for {
		err := c.queueTask(ctx, job, nil)
		if !errors.Is(err, asynq.ErrTaskIDConflict) {
			return err
		}
		info, err := c.inspector.GetTaskInfo(job.Queue, job.ID)
		switch {
		case errors.Is(err, asynq.ErrTaskNotFound):
			// Gone meanwhile: the next round queues a new one.
		case err != nil:
			return fmt.Errorf("producer: reading the job's task: %w", err)
		case info.State != asynq.TaskStateActive:
			// It may turn active meanwhile: the next round looks again.
			_ = c.inspector.DeleteTask(job.Queue, job.ID)
		default:
			if j, err := c.store.Get(ctx, job.ID); err == nil && j.Status != tasks.StatusQueued {
				return nil // a worker took the old task and runs the job
			}
		}
		if err := c.pause(ctx, deadline); err != nil {
			return err
		}
	}
}

// pause waits stopPoll, or answers ErrStillStopping once deadline has passed.
func (c *Client) pause(ctx context.Context, deadline time.Time) error {
	if !c.cfg.Now().Before(deadline) {
		return ErrStillStopping
	}
	t := time.NewTimer(stopPoll)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
