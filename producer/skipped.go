package producer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// SkippedFile is the file already at a job's destination, which the job completes
// with instead of uploading.
type SkippedFile struct {
	FileID   string
	FilePath string // its path in the media library, named in the job's event
	// Result is the file as an upload's answer would describe it (fileId, name,
	// filePath, url, size…): the job's result.
	Result json.RawMessage
}

// ErrSkipWithCallback refuses RecordSkipped a job with a callbackUrl: its callback is
// sent by a worker, so such a job is enqueued (ifExists=skip skips it there).
var ErrSkipWithCallback = errors.New("producer: a job with a callbackUrl is enqueued, not recorded as skipped")

// RecordSkipped records jobs whose destination already holds their file, found by
// the caller with the same size (ifExists=skip): each job is validated and stored
// completed, with files[i] as its result and the event "skipped: PATH already exists
// with the same size", and no task is queued. The jobs read, list, count in their run
// and export as those a worker skipped. Jobs of one run take one Redis round trip.
// A job whose IdempotencyKey names an earlier job returns that job (Existed). Results
// are in input order.
func (c *Client) RecordSkipped(ctx context.Context, jobs []tasks.Upload, files []SkippedFile) []Result {
	out := make([]Result, len(jobs))
	if len(files) != len(jobs) {
		err := fmt.Errorf("producer: RecordSkipped: %d jobs and %d files", len(jobs), len(files))
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	byRun := map[string][]int{} // the jobs of each run, which CreateCompleted takes together
	var runs []string
	items := make([]jobstore.Completed, len(jobs))
	for i, u := range jobs {
		if u.CallbackURL != "" {
			out[i].Err = ErrSkipWithCallback
			continue
		}
		if err := u.Validate(c.cfg.Validate); err != nil {
			out[i].Err = err
			continue
		}
		spec, err := json.Marshal(u)
		if err == nil {
			var redacted []byte
			if redacted, err = json.Marshal(u.Redacted()); err == nil {
				items[i] = jobstore.Completed{
					Job: &tasks.Job{Queue: c.queueOf(&u), MaxAttempts: u.Attempts(), IdempotencyKey: u.IdempotencyKey,
						Run: u.Run, Request: redacted},
					Spec: spec, Result: files[i].Result, FileID: files[i].FileID,
					Message: fmt.Sprintf("skipped: %s already exists with the same size", files[i].FilePath),
				}
			}
		}
		if err != nil {
			out[i].Err = fmt.Errorf("producer: encoding job: %w", err)
			continue
		}
		if _, ok := byRun[u.Run]; !ok {
			runs = append(runs, u.Run)
		}
		byRun[u.Run] = append(byRun[u.Run], i)
	}
	for _, run := range runs {
		idx := byRun[run]
		batch := make([]jobstore.Completed, len(idx))
		for k, i := range idx {
			batch[k] = items[i]
		}
		stored, existed, err := c.store.CreateCompleted(ctx, batch)
		for k, i := range idx {
			if err != nil {
				out[i].Err = fmt.Errorf("producer: recording skipped jobs: %w", err)
				continue
			}
			out[i] = Result{Job: stored[k], Existed: existed[k]}
			if existed[k] && stored[k].Status == tasks.StatusQueued {
				// An earlier call recorded it and may have stopped before its task was
				// queued: queueing again is harmless (the task id is the job id).
				if err := c.enqueueTask(ctx, stored[k], nil); err != nil {
					out[i] = Result{Err: err}
				}
			}
		}
	}
	return out
}
