package worker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redisurl"
)

const (
	// stateWaitStep is how often an attempt looks whether job state answers again.
	stateWaitStep = 250 * time.Millisecond
	// stateWaitBeforeRequeue is how long an attempt that has not started uploading
	// waits for job state before handing its task back: long enough to ride out a
	// failover's promotion, short enough not to hold a slot through an outage.
	stateWaitBeforeRequeue = 5 * time.Second
	// stateRequeueDelay is when a handed-back task runs again.
	stateRequeueDelay = 2 * time.Second
)

// errStateUnavailable says the job's record could not be read or written.
var errStateUnavailable = errors.New("job state unavailable")

// stateDown reports whether err says the job's record is out of reach for now: its
// node down or failing over, or replicas not confirming a write (which, written
// again, lands on whichever master holds the record then).
func stateDown(err error) bool {
	return redisurl.NodeDown(err) || errors.Is(err, jobstore.ErrNotReplicated)
}

// withState runs op, which reads or writes the job's record, again while the node
// holding that record is down or failing over (stateDown), for at most
// patience, or without bound when patience is 0, until ctx ends. Other errors are
// op's answer and return at once.
func (w *Worker) withState(ctx context.Context, patience time.Duration, op func(context.Context) error) error {
	var deadline time.Time
	if patience > 0 {
		deadline = time.Now().Add(patience)
	}
	for {
		err := op(ctx)
		if !stateDown(err) || ctx.Err() != nil {
			return err
		}
		if !deadline.IsZero() && time.Now().After(deadline) {
			return fmt.Errorf("%w: %w", errStateUnavailable, err)
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(stateWaitStep):
		}
	}
}

// beforeUpload reads or writes job state before anything was uploaded. While the
// state's node is down it waits a little; then, unless this is the task's last
// attempt, it hands the task back to the queue without spending an attempt (a
// non-failure to asynq). On the last attempt asynq would archive the task whatever
// the error, so it goes on waiting, until the task's own deadline.
func (w *Worker) beforeUpload(ctx context.Context, last bool, op func(context.Context) error) error {
	patience := stateWaitBeforeRequeue
	if last {
		patience = 0
	}
	err := w.withState(ctx, patience, op)
	if errors.Is(err, errStateUnavailable) {
		return &delayedError{after: stateRequeueDelay, free: true, err: err}
	}
	return err
}
