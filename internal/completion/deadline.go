package completion

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// deadlineMaxRetry is the retries of a deadline task: it only fails when Redis does.
const deadlineMaxRetry = 5

// scheduleDeadline queues the deadline task of an uploaded job, once per job.
func (t *Tracker) scheduleDeadline(ctx context.Context, jobID string) error {
	task, err := tasks.NewDeadlineTask(jobID,
		asynq.TaskID("deadline:"+jobID),
		asynq.Queue(tasks.QueueDefault),
		asynq.ProcessAt(t.now().Add(t.deadline)),
		asynq.MaxRetry(deadlineMaxRetry))
	if err != nil {
		return err
	}
	if _, err := t.queue.EnqueueContext(ctx, task); err != nil && !errors.Is(err, asynq.ErrTaskIDConflict) {
		return fmt.Errorf("completion: schedule the deadline of job %s: %w", jobID, err)
	}
	return nil
}

// HandleDeadline is the asynq handler of tasks.TypeDeadline. The items of an uploaded
// job still pending become Unknown and the job completed ("gave up waiting for: a, b"),
// then Finished. A job that has ended is left as it is, and so is a job that no longer
// exists; but an ended job whose Finished did not get through is finished again.
func (t *Tracker) HandleDeadline(ctx context.Context, task *asynq.Task) error {
	p, err := tasks.ParseDeadlineTask(task)
	if err != nil {
		return err // matches asynq.SkipRetry
	}
	for range maxRounds {
		job, err := t.store.Get(ctx, p.JobID)
		if errors.Is(err, jobstore.ErrNotFound) {
			t.log.Info("deadline of a job that no longer exists", "job_id", p.JobID)
			return nil
		}
		if err != nil {
			return t.jobError("read", p.JobID, err)
		}
		if job.Status.Final() {
			if callbackUnsent(job) {
				return t.Finished(ctx, job)
			}
			return nil
		}
		if job.Status != jobstore.StatusUploaded {
			return nil // only uploaded jobs have a deadline
		}
		pending := pendingItems(job.Extensions)
		msg := "all items final"
		if len(pending) > 0 {
			msg = "gave up waiting for: " + strings.Join(pending, ", ")
		}
		err = t.complete(ctx, p.JobID, msg, func(j *jobstore.Job) error {
			if !slices.Equal(pendingItems(j.Extensions), pending) { // msg would be wrong
				return errItemsChanged
			}
			for _, item := range pending {
				j.Extensions[item] = Unknown
			}
			return nil
		})
		if errors.Is(err, errItemsChanged) {
			continue
		}
		return err
	}
	return fmt.Errorf("completion: deadline of job %s: %w (%d rounds)", p.JobID, jobstore.ErrConflict, maxRounds)
}
