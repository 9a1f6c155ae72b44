package producer_test

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

func TestNewRequiresRedis(t *testing.T) {
	t.Parallel()
	if _, err := producer.New(producer.Config{}); err == nil || !strings.Contains(err.Error(), "Redis") {
		t.Fatalf("New without Redis: err = %v, want one naming Config.Redis", err)
	}
}

func TestEnqueue(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{TaskTimeout: 7 * time.Minute})
	const signed = "https://bucket.s3.amazonaws.com/photos/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=f00dsecretsig"
	job := e.Enqueue(t, tasks.Upload{
		File:        signed,
		FileName:    "a.jpg",
		Tags:        tasks.StringList{"summer", "beach"},
		Queue:       tasks.QueueCritical,
		MaxAttempts: 4,
	})

	if job.ID == "" || job.Status != jobstore.StatusQueued || job.Queue != tasks.QueueCritical || job.MaxAttempts != 4 {
		t.Fatalf("job = id %q, status %s, queue %q, maxAttempts %d; want an id, queued, critical, 4",
			job.ID, job.Status, job.Queue, job.MaxAttempts)
	}
	req := e2e.Request(t, job)
	if req["file"] != "https://bucket.s3.amazonaws.com/photos/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=REDACTED" {
		t.Errorf("request.file = %q, want the signature REDACTED", req["file"])
	}
	if req["fileName"] != "a.jpg" || fmt.Sprint(req["tags"]) != "[summer beach]" {
		t.Errorf("request = %v, want fileName a.jpg and tags [summer beach]", req)
	}
	if strings.Contains(string(job.Request), "f00dsecretsig") {
		t.Errorf("the record's request holds the signature: %s", job.Request)
	}

	// What the record says is what Get says.
	got, err := e.P.Get(t.Context(), job.ID)
	if err != nil {
		t.Fatalf("Get: %v", err)
	}
	if got.ID != job.ID || got.Status != jobstore.StatusQueued || string(got.Request) != string(job.Request) {
		t.Errorf("Get = %+v, want the enqueued record %+v", got, job)
	}
	if strings.Contains(e2e.MustJSON(t, got), "f00dsecretsig") {
		t.Errorf("Get's record holds the signature")
	}
	// The worker still needs the real URL: the spec beside the record keeps it.
	spec, err := e.Store.Spec(t.Context(), job.ID)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	u, err := tasks.Decode(spec)
	if err != nil {
		t.Fatalf("stored spec does not decode: %v\n%s", err, spec)
	}
	if u.File != signed {
		t.Errorf("stored spec's file = %q, want the signed URL unredacted", u.File)
	}

	info := e.Task(t, tasks.QueueCritical, job.ID)
	if info.ID != job.ID || info.Queue != tasks.QueueCritical || info.Type != tasks.TypeUpload {
		t.Errorf("task = id %q, queue %q, type %q; want %q, critical, %q", info.ID, info.Queue, info.Type, job.ID, tasks.TypeUpload)
	}
	if info.MaxRetry != 3 {
		t.Errorf("task MaxRetry = %d, want 3 (maxAttempts 4 less the first)", info.MaxRetry)
	}
	if info.Timeout != 7*time.Minute {
		t.Errorf("task Timeout = %v, want Config.TaskTimeout 7m", info.Timeout)
	}
	if info.State != asynq.TaskStatePending {
		t.Errorf("task state = %v, want pending", info.State)
	}
	p, err := tasks.ParseUploadTask(asynq.NewTask(info.Type, info.Payload))
	if err != nil || p.JobID != job.ID {
		t.Errorf("ParseUploadTask(payload %s) = %+v, %v; want job id %s", info.Payload, p, err, job.ID)
	}
	if n := e.TaskCount(t); n != 1 {
		t.Errorf("%d tasks queued, want 1", n)
	}
}

func TestEnqueueDefaults(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	job := e.Enqueue(t, e2e.ValidJob("a.jpg"))
	if job.Queue != tasks.QueueDefault || job.MaxAttempts != tasks.DefaultMaxAttempts {
		t.Errorf("job queue %q, maxAttempts %d; want default, %d", job.Queue, job.MaxAttempts, tasks.DefaultMaxAttempts)
	}
	info := e.Task(t, tasks.QueueDefault, job.ID)
	if info.MaxRetry != tasks.DefaultMaxAttempts-1 {
		t.Errorf("task MaxRetry = %d, want %d", info.MaxRetry, tasks.DefaultMaxAttempts-1)
	}
	if info.Timeout != time.Hour {
		t.Errorf("task Timeout = %v, want the default 1h", info.Timeout)
	}
}

func TestEnqueueElidesInlineContent(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	content := base64.StdEncoding.EncodeToString([]byte(strings.Repeat("pixels!", 100)))
	job := e.Enqueue(t, tasks.Upload{File: content, FileName: "inline.bin"})
	file, _ := e2e.Request(t, job)["file"].(string)
	if strings.Contains(string(job.Request), content[:40]) || !strings.Contains(file, "inline") || !strings.Contains(file, "700 bytes") {
		t.Errorf("request.file = %q, want the content elided to a note of its size (700 bytes)", file)
	}
	spec, err := e.Store.Spec(t.Context(), job.ID)
	if err != nil {
		t.Fatalf("Spec: %v", err)
	}
	if !strings.Contains(string(spec), content) {
		t.Errorf("the stored spec lost the inline content the worker needs")
	}
}

func TestEnqueueRunAt(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	runAt := time.Now().Add(2 * time.Hour).Truncate(time.Second) // asynq keeps whole seconds
	u := e2e.ValidJob("later.jpg")
	u.RunAt = &runAt
	job := e.Enqueue(t, u)
	info := e.Task(t, tasks.QueueDefault, job.ID)
	if info.State != asynq.TaskStateScheduled {
		t.Errorf("task state = %v, want scheduled", info.State)
	}
	if !info.NextProcessAt.Equal(runAt) {
		t.Errorf("task runs at %v, want %v", info.NextProcessAt, runAt)
	}
}

func TestEnqueueInvalid(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	bad := tasks.Upload{
		File:              "ftp://example.com/a.jpg",
		FileName:          "",
		Folder:            "/a/b?",
		CustomCoordinates: "1,2,3",
		Queue:             "urgent",
		MaxAttempts:       99,
	}
	job, err := e.P.Enqueue(t.Context(), bad)
	var ve *tasks.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("Enqueue = %v, %v; want a *tasks.ValidationError", job, err)
	}
	if job != nil {
		t.Errorf("Enqueue returned a job with its error: %+v", job)
	}
	fields := map[string]bool{}
	for _, p := range ve.Problems {
		fields[p.Field] = true
		if p.Message == "" {
			t.Errorf("problem of %s has no message", p.Field)
		}
	}
	for _, f := range []string{"file", "fileName", "folder", "customCoordinates", "queue", "maxAttempts"} {
		if !fields[f] {
			t.Errorf("no problem reported for %s; problems: %+v", f, ve.Problems)
		}
	}
	if jobs := e.AllJobs(t, ""); len(jobs) != 0 {
		t.Errorf("an invalid job left %d records", len(jobs))
	}
	if n := e.TaskCount(t); n != 0 {
		t.Errorf("an invalid job left %d tasks", n)
	}
}

func TestEnqueueIdempotent(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	u := e2e.ValidJob("a.jpg")
	u.IdempotencyKey = "order-17"
	first := e.Enqueue(t, u)
	second := e.Enqueue(t, u)
	if second.ID != first.ID || second.IdempotencyKey != "order-17" {
		t.Fatalf("second Enqueue with the key gave job %s (key %q), want %s", second.ID, second.IdempotencyKey, first.ID)
	}
	if jobs := e.AllJobs(t, ""); len(jobs) != 1 {
		t.Errorf("%d jobs, want 1", len(jobs))
	}
	if n := e.TaskCount(t); n != 1 {
		t.Errorf("%d tasks, want 1", n)
	}
	// A different key is a different job.
	u.IdempotencyKey = "order-18"
	if other := e.Enqueue(t, u); other.ID == first.ID {
		t.Errorf("another key returned the same job %s", other.ID)
	}
}

func TestEnqueueIdempotentConcurrent(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	u := e2e.ValidJob("a.jpg")
	u.IdempotencyKey = "click-twice"
	const n = 20
	ids := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			job, err := e.P.Enqueue(context.Background(), u)
			errs[i] = err
			if job != nil {
				ids[i] = job.ID
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("Enqueue %d: %v", i, errs[i])
		}
		if ids[i] != ids[0] {
			t.Fatalf("Enqueue %d gave job %s, Enqueue 0 gave %s", i, ids[i], ids[0])
		}
	}
	if jobs := e.AllJobs(t, ""); len(jobs) != 1 {
		t.Errorf("%d jobs, want 1", len(jobs))
	}
	if got := e.TaskCount(t); got != 1 {
		t.Errorf("%d tasks, want 1", got)
	}
	e.Task(t, tasks.QueueDefault, ids[0])
}

// A producer whose Enqueue stopped after the job was recorded (a crash, a lost
// connection) calls again with the same key: the job gets its task.
func TestEnqueueIdempotentRestoresLostTask(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	u := e2e.ValidJob("a.jpg")
	u.IdempotencyKey = "retry-me"
	job := e.Enqueue(t, u)
	if err := e.Insp.DeleteTask(tasks.QueueDefault, job.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	e.NoTask(t, tasks.QueueDefault, job.ID)

	again := e.Enqueue(t, u)
	if again.ID != job.ID {
		t.Fatalf("Enqueue with the key gave job %s, want %s", again.ID, job.ID)
	}
	info := e.Task(t, tasks.QueueDefault, job.ID)
	if info.State != asynq.TaskStatePending || info.MaxRetry != job.MaxAttempts-1 {
		t.Errorf("restored task: state %v, MaxRetry %d; want pending, %d", info.State, info.MaxRetry, job.MaxAttempts-1)
	}
}

// A finished job's key returns the finished job and queues nothing.
func TestEnqueueIdempotentFinishedJob(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	u := e2e.ValidJob("a.jpg")
	u.IdempotencyKey = "done"
	job := e.Enqueue(t, u)
	e.Complete(t, job)
	again := e.Enqueue(t, u)
	if again.ID != job.ID || again.Status != jobstore.StatusCompleted {
		t.Fatalf("Enqueue with a finished job's key = %s %s, want %s completed", again.ID, again.Status, job.ID)
	}
	e.NoTask(t, tasks.QueueDefault, job.ID)
}

// When the task cannot be queued, Enqueue fails and leaves no job behind, so a
// retry with the same idempotency key makes the job afresh.
func TestEnqueueTaskFailureLeavesNoJob(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	// asynq registers each queue in the set "asynq:queues" before it queues a task
	// there; a string in its place makes that step, and so the enqueue, fail.
	if err := e.RDB.Set(t.Context(), "asynq:queues", "not a set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	u := e2e.ValidJob("a.jpg")
	u.IdempotencyKey = "k"
	job, err := e.P.Enqueue(t.Context(), u)
	if err == nil {
		t.Fatalf("Enqueue succeeded (job %s) though its task could not be queued", job.ID)
	}
	if jobs := e.AllJobs(t, ""); len(jobs) != 0 {
		t.Fatalf("a failed Enqueue left %d jobs: first %+v", len(jobs), jobs[0])
	}

	if err := e.RDB.Del(t.Context(), "asynq:queues").Err(); err != nil {
		t.Fatal(err)
	}
	job = e.Enqueue(t, u)
	e.Task(t, tasks.QueueDefault, job.ID)
}

func TestEnqueueBatch(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	noFile := e2e.ValidJob("b.jpg")
	noFile.File = ""
	badQueue := e2e.ValidJob("d.jpg")
	badQueue.Queue = "urgent"
	keyed := e2e.ValidJob("f.jpg")
	keyed.IdempotencyKey = "order-f"
	earlier := e.Enqueue(t, keyed)
	in := []tasks.Upload{e2e.ValidJob("a.jpg"), noFile, e2e.ValidJob("c.jpg"), badQueue, e2e.ValidJob("e.jpg"), keyed}
	out := e.P.EnqueueBatch(t.Context(), in)
	if len(out) != len(in) {
		t.Fatalf("%d results for %d jobs", len(out), len(in))
	}
	if r := out[5]; r.Err != nil || !r.Existed || r.Job == nil || r.Job.ID != earlier.ID {
		t.Errorf("the job of an idempotency key enqueued before: %+v, %v; want job %s, existed", r.Job, r.Err, earlier.ID)
	}
	for i, r := range out[:5] {
		invalid := i == 1 || i == 3
		var ve *tasks.ValidationError
		switch {
		case invalid && (!errors.As(r.Err, &ve) || r.Job != nil):
			t.Errorf("result %d = %+v, %v; want only a *tasks.ValidationError", i, r.Job, r.Err)
		case !invalid && (r.Err != nil || r.Job == nil):
			t.Errorf("result %d = %+v, %v; want a job", i, r.Job, r.Err)
		case !invalid:
			if name := e2e.Request(t, r.Job)["fileName"]; name != in[i].FileName {
				t.Errorf("result %d is the job of %v, want %s: results out of order", i, name, in[i].FileName)
			}
			e.Task(t, tasks.QueueDefault, r.Job.ID)
		}
	}
	if n := e.TaskCount(t); n != 4 {
		t.Errorf("%d tasks, want 4 (the valid jobs and the earlier one)", n)
	}
	if jobs := e.AllJobs(t, ""); len(jobs) != 4 {
		t.Errorf("%d jobs recorded, want 4", len(jobs))
	}
}

func TestGetUnknown(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	for _, id := range []string{"01JNOSUCHJOB0000000000000", ""} {
		if job, err := e.P.Get(t.Context(), id); !errors.Is(err, jobstore.ErrNotFound) {
			t.Errorf("Get(%q) = %+v, %v; want ErrNotFound", id, job, err)
		}
	}
}

func TestListByStatusPages(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	var ids []string
	for i := range 7 {
		ids = append(ids, e.Enqueue(t, e2e.ValidJob(fmt.Sprintf("%d.jpg", i))).ID)
	}
	canceled := []string{ids[1], ids[4]}
	for _, id := range canceled {
		if _, err := e.P.Cancel(t.Context(), id); err != nil {
			t.Fatalf("Cancel: %v", err)
		}
	}
	var wantQueued []string // newest first
	for _, id := range slices.Backward(ids) {
		if !slices.Contains(canceled, id) {
			wantQueued = append(wantQueued, id)
		}
	}

	var got []string
	cursor := ""
	for pages := 1; ; pages++ {
		page, next, err := e.P.List(t.Context(), jobstore.ListOptions{Status: jobstore.StatusQueued, Limit: 2, Cursor: cursor})
		if err != nil {
			t.Fatalf("List page %d: %v", pages, err)
		}
		if len(page) > 2 {
			t.Fatalf("page %d holds %d jobs, limit 2", pages, len(page))
		}
		for _, j := range page {
			if j.Status != jobstore.StatusQueued {
				t.Errorf("List(queued) returned job %s in %s", j.ID, j.Status)
			}
			got = append(got, j.ID)
		}
		if next == "" {
			break
		}
		if pages > 10 {
			t.Fatalf("List(queued) still has a next page after %d pages", pages)
		}
		cursor = next
	}
	if !slices.Equal(got, wantQueued) {
		t.Errorf("List(queued) over pages = %v, want %v (newest first)", got, wantQueued)
	}

	var gotCanceled []string
	for _, j := range e.AllJobs(t, jobstore.StatusCanceled) {
		gotCanceled = append(gotCanceled, j.ID)
	}
	if want := []string{ids[4], ids[1]}; !slices.Equal(gotCanceled, want) {
		t.Errorf("List(canceled) = %v, want %v", gotCanceled, want)
	}
	if all := e.AllJobs(t, ""); len(all) != len(ids) {
		t.Errorf("List() = %d jobs, want %d", len(all), len(ids))
	}
}

func TestCancelQueued(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	job := e.Enqueue(t, e2e.ValidJob("a.jpg"))
	canceled, err := e.P.Cancel(t.Context(), job.ID)
	if err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if canceled.Status != jobstore.StatusCanceled {
		t.Errorf("Cancel returned status %s, want canceled", canceled.Status)
	}
	got, err := e.P.Get(t.Context(), job.ID)
	if err != nil || got.Status != jobstore.StatusCanceled {
		t.Fatalf("Get after Cancel = %+v, %v; want canceled", got, err)
	}
	e.NoTask(t, tasks.QueueDefault, job.ID)
}

func TestCancelCompleted(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	job := e.Complete(t, e.Enqueue(t, e2e.ValidJob("a.jpg")))
	before := e2e.MustJSON(t, e.MustGet(t, job.ID))

	got, err := e.P.Cancel(t.Context(), job.ID)
	if !errors.Is(err, jobstore.ErrIllegalTransition) {
		t.Fatalf("Cancel(completed) = %+v, %v; want an error wrapping ErrIllegalTransition", got, err)
	}
	if after := e2e.MustJSON(t, e.MustGet(t, job.ID)); after != before {
		t.Errorf("Cancel(completed) changed the job:\nbefore %s\nafter  %s", before, after)
	}
}

func TestCancelUnknown(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	if job, err := e.P.Cancel(t.Context(), "01JNOSUCHJOB0000000000000"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Fatalf("Cancel(unknown) = %+v, %v; want ErrNotFound", job, err)
	}
}

func TestRetryFailed(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	u := e2e.ValidJob("a.jpg")
	u.Queue = tasks.QueueLow
	u.MaxAttempts = 3
	job := e.Enqueue(t, u)
	failed := e.Drive(t, job.ID, jobstore.StatusActive, jobstore.StatusFailed)
	if failed.Attempts != 1 || failed.Error == nil {
		t.Fatalf("failed job: attempts %d, error %v; want 1 and an error", failed.Attempts, failed.Error)
	}
	// asynq archives a task that ran out of retries or was told to skip them.
	if err := e.Insp.ArchiveTask(tasks.QueueLow, job.ID); err != nil {
		t.Fatalf("ArchiveTask: %v", err)
	}

	retried, err := e.P.Retry(t.Context(), job.ID)
	if err != nil {
		t.Fatalf("Retry: %v", err)
	}
	got := e.MustGet(t, job.ID)
	for _, j := range []*jobstore.Job{retried, got} {
		if j.Status != jobstore.StatusQueued || j.Attempts != 0 || j.Error != nil || j.NextAttemptAt != nil {
			t.Errorf("after Retry: status %s, attempts %d, error %v, nextAttemptAt %v; want queued, 0, none, none",
				j.Status, j.Attempts, j.Error, j.NextAttemptAt)
		}
	}
	info := e.Task(t, tasks.QueueLow, job.ID)
	if info.State != asynq.TaskStatePending || info.ID != job.ID || info.MaxRetry != 2 {
		t.Errorf("task after Retry: state %v, id %s, MaxRetry %d; want pending, %s, 2", info.State, info.ID, info.MaxRetry, job.ID)
	}
	if n := e.TaskCount(t); n != 1 {
		t.Errorf("%d tasks after Retry, want 1 (the archived one replaced)", n)
	}
}

func TestRetryCanceled(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	job := e.Enqueue(t, e2e.ValidJob("a.jpg"))
	if _, err := e.P.Cancel(t.Context(), job.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	if _, err := e.P.Retry(t.Context(), job.ID); err != nil {
		t.Fatalf("Retry(canceled): %v", err)
	}
	if got := e.MustGet(t, job.ID); got.Status != jobstore.StatusQueued {
		t.Errorf("after Retry: %s, want queued", got.Status)
	}
	e.Task(t, tasks.QueueDefault, job.ID)
}

func TestRetryNotFinished(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	completed := e.Complete(t, e.Enqueue(t, e2e.ValidJob("a.jpg")))
	queued := e.Enqueue(t, e2e.ValidJob("b.jpg"))
	for _, job := range []*jobstore.Job{completed, queued} {
		before := e2e.MustJSON(t, e.MustGet(t, job.ID))
		if got, err := e.P.Retry(t.Context(), job.ID); !errors.Is(err, jobstore.ErrIllegalTransition) {
			t.Errorf("Retry(%s) = %+v, %v; want an error wrapping ErrIllegalTransition", job.Status, got, err)
		}
		if after := e2e.MustJSON(t, e.MustGet(t, job.ID)); after != before {
			t.Errorf("Retry(%s) changed the job:\nbefore %s\nafter  %s", job.Status, before, after)
		}
	}
	e.NoTask(t, tasks.QueueDefault, completed.ID)
	if _, err := e.P.Retry(t.Context(), "01JNOSUCHJOB0000000000000"); !errors.Is(err, jobstore.ErrNotFound) {
		t.Errorf("Retry(unknown) = %v, want ErrNotFound", err)
	}
}
