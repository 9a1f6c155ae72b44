package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

// Jobs is the queue a run enqueues into and reads its jobs from. The command layer
// adapts the producer to it, so this package depends on no job-record type.
type Jobs interface {
	// EnqueueBatch enqueues jobs and returns one answer per job, in order.
	EnqueueBatch(ctx context.Context, jobs []tasks.Upload) []Enqueued
	// Get reads a job; a job whose record is gone is an error wrapping ErrJobGone.
	Get(ctx context.Context, id string) (*JobState, error)
}

// ErrJobGone is a job whose record no longer exists (deleted, or expired).
var ErrJobGone = errors.New("the job's record is gone (deleted, or expired after its retention)")

// Enqueued is the answer for one job of a batch: its id, or why it was not enqueued.
type Enqueued struct {
	ID        string
	Status    string
	CreatedAt time.Time
	// State is the job as recorded when RecordSkipped completed it; nil otherwise.
	State *JobState
	Err   error
}

// JobState is what a run reads of a job.
type JobState struct {
	ID       string
	Status   string // queued, active, retrying, uploaded, completed, failed, canceled
	Attempts int
	Result   json.RawMessage // the Upload API's answer, or the file found in place
	Error    string          // why it failed
	Events   []string        // the timeline's messages
}

// Final reports whether the job has ended.
func (j *JobState) Final() bool {
	switch j.Status {
	case "completed", "failed", "canceled":
		return true
	}
	return false
}

// skipped reports whether the worker found the file in place and uploaded nothing.
func (j *JobState) skipped() bool {
	for _, e := range j.Events {
		if len(e) >= 9 && e[:9] == "skipped: " {
			return true
		}
	}
	return false
}
