package completion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// CallbackMaxRetry is the retries of a callback task: with asynq's backoff, 20 cover
// an app that is down for days.
const CallbackMaxRetry = 20

// relayMaxRetry is the retries of a relay task, as for callbacks.
const relayMaxRetry = 20

// callbackPending is the Callback.Status of a callback queued and not yet delivered.
const callbackPending = "pending"

// Finished queues the callback of a job that ended (completed, failed or canceled)
// when the job has a Callback with a URL, and sets Callback.Status to "pending" when it
// is empty, in the store and in job. The task's id names the job and its status, so a
// job that ends twice the same way is called back once; Finished may be called again
// after an error. A job without a callback: nothing.
func (t *Tracker) Finished(ctx context.Context, job *jobstore.Job) error {
	if job == nil || job.Callback == nil || job.Callback.URL == "" {
		return nil
	}
	if !job.Status.Final() {
		return fmt.Errorf("completion: job %s has not ended: it is %s", job.ID, job.Status)
	}
	event := string(job.Status)
	task, err := tasks.NewCallbackTask(job.ID, event,
		asynq.TaskID("callback:"+job.ID+":"+event),
		asynq.Queue(tasks.QueueDefault),
		asynq.MaxRetry(CallbackMaxRetry))
	if err != nil {
		return err
	}
	log := t.log.With("job_id", job.ID, "attempt", job.Attempts)
	switch _, err := t.queue.EnqueueContext(ctx, task); {
	case errors.Is(err, asynq.ErrTaskIDConflict):
		log.Info("callback queued already", "event", event)
	case err != nil:
		return fmt.Errorf("completion: queue the callback of job %s: %w", job.ID, err)
	default:
		log.Info("callback queued", "event", event)
	}
	// Marked after queueing: a final job with a callback and no status is one whose
	// Finished did not get through (see callbackUnsent).
	if job.Callback.Status != "" {
		return nil
	}
	stored, err := t.store.Update(ctx, job.ID, func(j *jobstore.Job) error {
		if j.Callback != nil && j.Callback.Status == "" {
			j.Callback.Status = callbackPending
		}
		return nil
	})
	if err != nil {
		return t.jobError("mark the callback of", job.ID, err)
	}
	if stored.Callback != nil {
		job.Callback.Status = stored.Callback.Status
	}
	return nil
}

// callbackUnsent reports whether Finished may not have queued the callback of an
// ended job.
func callbackUnsent(job *jobstore.Job) bool {
	return job.Status.Final() && job.Callback != nil && job.Callback.URL != "" && job.Callback.Status == ""
}

// Relay queues an ImageKit webhook body for the webhookUrl of the job's spec, when it
// has one; nothing otherwise.
func (t *Tracker) Relay(ctx context.Context, jobID string, body []byte) error {
	raw, err := t.store.Spec(ctx, jobID)
	if err != nil {
		return t.jobError("relay a webhook of", jobID, err)
	}
	// Leniently, as stored specs are read: one written by a newer ikq still relays.
	var spec tasks.Upload
	if err := json.Unmarshal(raw, &spec); err != nil {
		return fmt.Errorf("completion: relay a webhook of job %s: its spec: %w", jobID, err)
	}
	if spec.WebhookURL == "" {
		return nil
	}
	task, err := tasks.NewRelayTask(jobID, body, asynq.Queue(tasks.QueueDefault), asynq.MaxRetry(relayMaxRetry))
	if err != nil {
		return err
	}
	if _, err := t.queue.EnqueueContext(ctx, task); err != nil {
		return fmt.Errorf("completion: queue the relay of a webhook of job %s: %w", jobID, err)
	}
	t.log.Info("webhook relayed", "job_id", jobID)
	return nil
}
