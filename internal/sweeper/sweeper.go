// Package sweeper finds jobs whose asynq task has vanished and puts them right.
//
// A job's record and its task are two writes, possibly on two Redis masters. A
// failover can lose the task after the record survived (the record waits for a
// replica, the task does not), and a task can end archived while its job's record
// could not be written. Such a job would stay queued, active or retrying for good.
// The sweeper looks at every open job not written to for a while: a job whose task
// is gone is queued again under the same task id; a job whose task was archived is
// marked failed with the task's last error.
package sweeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redact"
	"github.com/ikq-dev/ikq/tasks"
)

const (
	// DefaultInterval is how often a sweep runs.
	DefaultInterval = time.Minute
	// DefaultGrace is how long a job must have gone unwritten before it is looked at:
	// longer than the gap between a job's creation and its task's enqueue.
	DefaultGrace = time.Minute

	// lockKey makes one sweep run at a time among all ikq processes.
	lockKey = "ikq:{sweeper}:lock"
	// batch is how many tasks one round trip looks up.
	batch = 200
)

// Config configures a Sweeper.
type Config struct {
	Store *jobstore.Store
	// Redis is the client asynq uses: task records are read from it.
	Redis redis.UniversalClient
	// TaskTimeout is the timeout of re-queued tasks; default tasks.DefaultTaskTimeout.
	TaskTimeout time.Duration
	// Interval between sweeps; default DefaultInterval.
	Interval time.Duration
	// Grace: jobs written to more recently are left alone; default DefaultGrace.
	Grace  time.Duration
	Logger *slog.Logger
}

// Sweeper re-queues or fails open jobs whose task is gone.
type Sweeper struct {
	cfg   Config
	queue *asynq.Client
	insp  *asynq.Inspector
}

// New returns a Sweeper.
func New(cfg Config) *Sweeper {
	if cfg.Interval <= 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Grace <= 0 {
		cfg.Grace = DefaultGrace
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return &Sweeper{
		cfg:   cfg,
		queue: asynq.NewClientFromRedisClient(cfg.Redis),
		insp:  asynq.NewInspectorFromRedisClient(cfg.Redis),
	}
}

// Result counts what one sweep did.
type Result struct {
	Checked, Requeued, Failed int
}

// Run sweeps every Interval until ctx ends. A sweep that fails is logged and tried
// again at the next tick.
func (s *Sweeper) Run(ctx context.Context) {
	t := time.NewTicker(s.cfg.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := s.Sweep(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			s.cfg.Logger.Warn("sweeping jobs whose task vanished failed; trying again later", "err", err)
		case res.Requeued+res.Failed > 0:
			s.cfg.Logger.Warn("found jobs whose task vanished", "requeued", res.Requeued, "failed", res.Failed, "checked", res.Checked)
		}
	}
}

// Sweep looks once at every open job older than Grace, unless another process is
// sweeping (then it returns a zero Result).
func (s *Sweeper) Sweep(ctx context.Context) (Result, error) {
	var res Result
	got, err := s.cfg.Redis.SetNX(ctx, lockKey, "1", s.cfg.Interval).Result()
	if err != nil || !got {
		return res, err
	}
	defer s.cfg.Redis.Del(context.WithoutCancel(ctx), lockKey)
	var pending []*tasks.Job
	flush := func() error {
		err := s.check(ctx, pending, &res)
		pending = pending[:0]
		return err
	}
	err = s.cfg.Store.EachOpen(ctx, s.cfg.Grace, func(j *tasks.Job) error {
		if pending = append(pending, j); len(pending) == batch {
			return flush()
		}
		return nil
	})
	if err == nil {
		err = flush()
	}
	return res, err
}

// check looks up the tasks of jobs in one round trip and deals with those gone.
func (s *Sweeper) check(ctx context.Context, jobs []*tasks.Job, res *Result) error {
	if len(jobs) == 0 {
		return nil
	}
	pipe := s.cfg.Redis.Pipeline()
	states := make([]*redis.StringCmd, len(jobs))
	for i, j := range jobs {
		states[i] = pipe.HGet(ctx, taskKey(j.Queue, j.ID), "state")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("sweeper: read task states: %w", err)
	}
	for i, j := range jobs {
		res.Checked++
		state, err := states[i].Result()
		switch {
		case errors.Is(err, redis.Nil):
			if err := s.requeue(ctx, j, res); err != nil {
				return err
			}
		case err != nil:
			return fmt.Errorf("sweeper: read task of job %s: %w", j.ID, err)
		case state == "archived":
			if err := s.fail(ctx, j, res); err != nil {
				return err
			}
		}
	}
	return nil
}

// taskKey is where asynq keeps a task's record (its layout since v0.18; a test
// holds it to the asynq in go.mod).
func taskKey(queue, id string) string { return "asynq:{" + queue + "}:t:" + id }

// requeue queues the task of a job whose task is gone, if the job is still open
// and unchanged since it was read.
func (s *Sweeper) requeue(ctx context.Context, j *tasks.Job, res *Result) error {
	cur, err := s.cfg.Store.Get(ctx, j.ID)
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if !cur.UpdatedAt.Equal(j.UpdatedAt) {
		return nil // written meanwhile: a worker has it
	}
	task, err := tasks.JobUploadTask(cur, s.cfg.TaskTimeout)
	if err != nil {
		return err
	}
	_, err = s.queue.EnqueueContext(ctx, task)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil // queued meanwhile
	}
	if err != nil {
		return fmt.Errorf("sweeper: queue job %s again: %w", j.ID, err)
	}
	res.Requeued++
	s.cfg.Logger.Warn("job's task had vanished; queued it again", "job_id", j.ID, "status", j.Status)
	return nil
}

// fail marks failed a job whose task was archived without the job being told,
// with the task's last error.
func (s *Sweeper) fail(ctx context.Context, j *tasks.Job, res *Result) error {
	reason := "its task was archived"
	if info, err := s.insp.GetTaskInfo(j.Queue, j.ID); err == nil && info.LastErr != "" {
		reason += ": " + redact.Text(info.LastErr) // asynq's copy may predate the cleaning
	}
	_, err := s.cfg.Store.Transition(ctx, j.ID, jobstore.StatusFailed, reason, func(cur *tasks.Job) error {
		if !cur.UpdatedAt.Equal(j.UpdatedAt) {
			return errChanged
		}
		cur.Error = &tasks.JobError{Code: "task_archived", Message: reason}
		return nil
	})
	if errors.Is(err, errChanged) || errors.Is(err, jobstore.ErrIllegalTransition) || errors.Is(err, jobstore.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("sweeper: fail job %s: %w", j.ID, err)
	}
	res.Failed++
	s.cfg.Logger.Warn("job's task was archived without a final record; marked it failed", "job_id", j.ID)
	return nil
}

var errChanged = errors.New("job changed meanwhile")
