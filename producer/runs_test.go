package producer_test

import (
	"errors"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// TestRuns: a run's jobs, counts and failures through the public client, and
// RetryRun re-queueing exactly its failed jobs (and its canceled ones when asked).
func TestRuns(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	ctx := t.Context()
	if err := e.P.RecordRun(ctx, tasks.RunInfo{ID: "mig-7", Source: "./photos", Mode: "enqueue", Folder: "/mig"}); err != nil {
		t.Fatal(err)
	}
	var jobs []*tasks.Job
	for _, name := range []string{"a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg"} {
		u := e2e.ValidJob(name)
		u.Run = "mig-7"
		jobs = append(jobs, e.Enqueue(t, u))
	}
	other := e2e.ValidJob("z.jpg")
	other.Run = "other"
	e.Enqueue(t, other)
	if jobs[0].Run != "mig-7" {
		t.Fatalf("the record's run is %q, want mig-7", jobs[0].Run)
	}
	// What a worker would record: two refused uploads, one done; one canceled.
	for _, j := range jobs[:2] {
		if _, err := e.Store.Transition(ctx, j.ID, tasks.StatusFailed, "refused", func(j *tasks.Job) error {
			j.Error = &tasks.JobError{Code: "upload_rejected", Message: "File type not allowed.", HTTPStatus: 400}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.Store.Transition(ctx, jobs[2].ID, tasks.StatusActive, "attempt 1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Store.Transition(ctx, jobs[2].ID, tasks.StatusCompleted, "done", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.P.Cancel(ctx, jobs[3].ID); err != nil {
		t.Fatal(err)
	}

	run, err := e.P.Run(ctx, "mig-7")
	if err != nil {
		t.Fatal(err)
	}
	want := tasks.RunCounts{Queued: 1, Completed: 1, Failed: 2, Canceled: 1}
	if run.Counts != want || run.Total != 5 || run.Source != "./photos" || run.Mode != "enqueue" || run.Folder != "/mig" {
		t.Errorf("run %+v, want counts %+v of 5 jobs and what was recorded", run, want)
	}
	if len(run.Failures) != 2 || run.Failures[0].Reason != "File type not allowed." || run.Failures[0].Count != 2 ||
		run.Failures[0].Examples[0].Source != "https://example.com/a.jpg" || run.Failures[1].Reason != "canceled" {
		t.Errorf("failures %+v, want 2 refused for their type, then 1 canceled", run.Failures)
	}
	runs, next, err := e.P.Runs(ctx, tasks.RunListOptions{})
	if err != nil || len(runs) != 2 || runs[0].ID != "other" || runs[1].ID != "mig-7" || next != "" {
		t.Errorf("Runs: %v, %q, %v; want other, then mig-7", runs, next, err)
	}

	n, err := e.P.RetryRun(ctx, "mig-7", producer.RetryRunOptions{})
	if err != nil || n != 2 {
		t.Fatalf("RetryRun: %d, %v; want the 2 failed jobs", n, err)
	}
	for _, j := range jobs[:2] {
		got, err := e.P.Get(ctx, j.ID)
		if err != nil || got.Status != tasks.StatusQueued || got.Error != nil {
			t.Errorf("job %s after RetryRun: %+v, %v; want queued, error cleared", j.ID, got, err)
		}
		if info := e.Task(t, tasks.QueueDefault, j.ID); info.State != asynq.TaskStatePending {
			t.Errorf("job %s's task is %v, want pending", j.ID, info.State)
		}
	}
	if got, _ := e.P.Get(ctx, jobs[3].ID); got.Status != tasks.StatusCanceled {
		t.Errorf("the canceled job was retried without being asked: %s", got.Status)
	}
	if n, err := e.P.RetryRun(ctx, "mig-7", producer.RetryRunOptions{}); n != 0 || err != nil {
		t.Errorf("RetryRun with nothing failed: %d, %v", n, err)
	}
	if n, err := e.P.RetryRun(ctx, "mig-7", producer.RetryRunOptions{Canceled: true}); n != 1 || err != nil {
		t.Errorf("RetryRun with Canceled: %d, %v; want the canceled job", n, err)
	}
	if run, _ := e.P.Run(ctx, "mig-7"); run.Counts != (tasks.RunCounts{Queued: 4, Completed: 1}) || run.Failures != nil {
		t.Errorf("after the retries: %+v, failures %+v", run.Counts, run.Failures)
	}

	if _, err := e.P.Run(ctx, "nope"); !errors.Is(err, producer.ErrRunNotFound) || !errors.Is(err, producer.ErrNotFound) {
		t.Errorf("Run of an unknown id: %v, want ErrRunNotFound", err)
	}
	if _, err := e.P.RetryRun(ctx, "nope", producer.RetryRunOptions{}); !errors.Is(err, producer.ErrRunNotFound) {
		t.Errorf("RetryRun of an unknown id: %v, want ErrRunNotFound", err)
	}
	if _, _, err := e.P.RunJobs(ctx, "nope", tasks.ListOptions{}); !errors.Is(err, producer.ErrRunNotFound) {
		t.Errorf("RunJobs of an unknown id: %v, want ErrRunNotFound", err)
	}
}
