package producer

import (
	"context"
	"errors"
	"fmt"

	"github.com/ikq-dev/ikq/tasks"
)

// ErrRunNotFound: no run has this id (never created, or all its jobs finished and
// expired). It matches ErrNotFound too.
var ErrRunNotFound = tasks.ErrRunNotFound

// Runs returns runs newest first, with their counts by status, a page at a time, and
// the cursor of the next page ("" after the last).
func (c *Client) Runs(ctx context.Context, o tasks.RunListOptions) (runs []*tasks.Run, nextCursor string, err error) {
	return c.store.ListRuns(ctx, o)
}

// Run returns a run with its counts by status and its failed and canceled jobs
// grouped by reason, or an error matching ErrRunNotFound.
func (c *Client) Run(ctx context.Context, id string) (*tasks.Run, error) {
	return c.store.GetRun(ctx, id, true)
}

// RunJobs returns a page of a run's jobs, optionally of one status, oldest first,
// and the cursor of the next page ("" after the last). An unknown run is an error
// matching ErrRunNotFound.
func (c *Client) RunJobs(ctx context.Context, id string, o tasks.ListOptions) (jobs []*tasks.Job, nextCursor string, err error) {
	return c.store.RunJobs(ctx, id, o)
}

// RecordRun records what a bulk run is (its source, how it uploads, its folder), so
// that listing runs can show it. Jobs name their run themselves: a run exists once
// its first job does, recorded or not.
func (c *Client) RecordRun(ctx context.Context, info tasks.RunInfo) error {
	return c.store.RecordRun(ctx, info)
}

// RetryRunOptions select what RetryRun runs again. The zero value: failed jobs.
type RetryRunOptions struct {
	// Canceled also runs the run's canceled jobs again.
	Canceled bool
}

// RetryRun runs the failed jobs of a run again (and the canceled ones, when asked),
// each as Retry does, and returns how many it queued again. A job that changed
// status meanwhile is left as it is; one whose canceled run is still stopping is
// left too, and the error then wraps ErrStillStopping (call again shortly). Any other
// error stops it; an unknown run is ErrRunNotFound.
func (c *Client) RetryRun(ctx context.Context, id string, o RetryRunOptions) (int, error) {
	if _, err := c.store.GetRun(ctx, id, false); err != nil {
		return 0, err
	}
	statuses := []tasks.Status{tasks.StatusFailed}
	if o.Canceled {
		statuses = append(statuses, tasks.StatusCanceled)
	}
	n, stopping := 0, 0
	for _, st := range statuses {
		// The cursor is an id, not a position: retried jobs leaving the set do not
		// move it, and a job that fails again at once is not retried twice.
		skip := ""
		for {
			jobs, next, err := c.store.RunJobs(ctx, id, tasks.ListOptions{Status: st, Limit: tasks.MaxListLimit, Cursor: skip})
			if err != nil {
				return n, err
			}
			for _, j := range jobs {
				_, err := c.Retry(ctx, j.ID)
				switch {
				case err == nil:
					n++
				case errors.Is(err, tasks.ErrIllegalTransition), errors.Is(err, tasks.ErrNotFound):
					// moved on, or expired, meanwhile
				case errors.Is(err, ErrStillStopping):
					stopping++
				default:
					return n, fmt.Errorf("producer: retrying job %s of run %s: %w", j.ID, id, err)
				}
			}
			if next == "" {
				break
			}
			skip = next
		}
	}
	c.cfg.Logger.Info("run retried", "run", id, "jobs", n, "still_stopping", stopping)
	if stopping > 0 {
		return n, fmt.Errorf("%w: %d jobs of run %s were left as they are", ErrStillStopping, stopping, id)
	}
	return n, nil
}
