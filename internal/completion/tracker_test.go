package completion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

func TestRecordUploadNoItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	for _, withCallback := range []bool{true, false} {
		t.Run(fmt.Sprintf("callback=%v", withCallback), func(t *testing.T) {
			job := e.activeJob(t, jobOpts{callback: withCallback})
			got, err := e.tr.RecordUpload(ctx, job.ID, upload("file_"+job.ID, nil))
			if err != nil {
				t.Fatalf("RecordUpload: %v", err)
			}
			stored := e.get(t, job.ID)
			if got.Status != jobstore.StatusCompleted || stored.Status != jobstore.StatusCompleted {
				t.Fatalf("status %s (stored %s), want completed", got.Status, stored.Status)
			}
			if msg := lastEvent(stored).Message; msg != "uploaded to /a.jpg" {
				t.Errorf("event %q", msg)
			}
			if stored.FileID != "file_"+job.ID || string(stored.Result) == "" || len(stored.Extensions) != 0 {
				t.Errorf("record: fileId %q, result %s, extensions %v", stored.FileID, stored.Result, stored.Extensions)
			}
			cbs := e.callbacks(t, job.ID)
			if !withCallback {
				if len(cbs) != 0 {
					t.Fatalf("%d callback tasks for a job without a callbackUrl", len(cbs))
				}
				return
			}
			if len(cbs) != 1 {
				t.Fatalf("%d callback tasks, want 1", len(cbs))
			}
			if cb := cbs[0]; cb.ID != "callback:"+job.ID+":completed" || cb.MaxRetry != CallbackMaxRetry || cb.Queue != tasks.QueueDefault {
				t.Errorf("callback task id %q, max retry %d, queue %q", cb.ID, cb.MaxRetry, cb.Queue)
			}
			p, _ := tasks.ParseCallbackTask(asynq.NewTask(cbs[0].Type, cbs[0].Payload))
			if p.Event != tasks.EventCompleted {
				t.Errorf("callback event %q", p.Event)
			}
			if stored.Callback.Status != "pending" {
				t.Errorf("callback status %q, want pending", stored.Callback.Status)
			}
		})
	}
	if n := len(e.tasksOf(t, tasks.TypeDeadline)); n != 0 {
		t.Errorf("%d deadline tasks for completed jobs", n)
	}
}

func TestRecordUploadPendingSchedulesDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	job := e.activeJob(t, jobOpts{callback: true})

	before := time.Now()
	got, err := e.tr.RecordUpload(context.Background(), job.ID, upload("file_1", map[string]string{"remove-bg": Pending}))
	after := time.Now()
	if err != nil {
		t.Fatalf("RecordUpload: %v", err)
	}
	if got.Status != jobstore.StatusUploaded || got.Extensions["remove-bg"] != Pending {
		t.Fatalf("status %s, extensions %v; want uploaded, remove-bg pending", got.Status, got.Extensions)
	}
	if msg := lastEvent(got).Message; msg != "uploaded to /a.jpg; waiting for 1 item" {
		t.Errorf("event %q", msg)
	}
	if n := len(e.callbacks(t, job.ID)); n != 0 {
		t.Errorf("%d callback tasks for an uploaded job", n)
	}

	deadlines := e.tasksOf(t, tasks.TypeDeadline)
	if len(deadlines) != 1 {
		t.Fatalf("%d deadline tasks, want 1", len(deadlines))
	}
	d := deadlines[0]
	if d.ID != "deadline:"+job.ID || d.State != asynq.TaskStateScheduled || d.MaxRetry != deadlineMaxRetry {
		t.Errorf("deadline task id %q, state %v, max retry %d", d.ID, d.State, d.MaxRetry)
	}
	// asynq keeps whole seconds: allow one either side.
	lo, hi := before.Add(testDeadline-time.Second), after.Add(testDeadline+time.Second)
	if d.NextProcessAt.Before(lo) || d.NextProcessAt.After(hi) {
		t.Errorf("deadline task runs at %v, want between %v and %v", d.NextProcessAt, lo, hi)
	}

	// Recording the same upload again writes nothing and schedules nothing more.
	again, err := e.tr.RecordUpload(context.Background(), job.ID, upload("file_1", map[string]string{"remove-bg": Pending}))
	if err != nil {
		t.Fatalf("RecordUpload again: %v", err)
	}
	if len(again.Events) != len(got.Events) || !again.UpdatedAt.Equal(got.UpdatedAt) {
		t.Errorf("a duplicate RecordUpload wrote: %d events, was %d", len(again.Events), len(got.Events))
	}
	if n := len(e.tasksOf(t, tasks.TypeDeadline)); n != 1 {
		t.Errorf("%d deadline tasks after a duplicate, want 1", n)
	}
}

func TestRecordUploadFinalAndPendingItems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	job := e.activeJob(t, jobOpts{})
	got, err := e.tr.RecordUpload(context.Background(), job.ID, upload("file_1", map[string]string{
		"google-auto-tagging": "SUCCESS", // the response's own case
		"remove-bg":           Pending,
	}))
	if err != nil {
		t.Fatalf("RecordUpload: %v", err)
	}
	want := map[string]string{"google-auto-tagging": Success, "remove-bg": Pending}
	if got.Status != jobstore.StatusUploaded || !maps.Equal(got.Extensions, want) {
		t.Fatalf("status %s, extensions %v; want uploaded, %v", got.Status, got.Extensions, want)
	}
	if stored := e.get(t, job.ID); !maps.Equal(stored.Extensions, want) {
		t.Errorf("stored extensions %v", stored.Extensions)
	}
}

func TestRecordUploadAfterRetryingRerun(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{})
	// A later run failed while this one was still uploading.
	if _, err := e.store.Transition(ctx, job.ID, jobstore.StatusRetrying, "attempt failed", func(j *jobstore.Job) error {
		j.Error = &jobstore.JobError{Code: "timeout", Message: "timed out", Retryable: true}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := e.tr.RecordUpload(ctx, job.ID, upload("file_1", nil))
	if err != nil {
		t.Fatalf("RecordUpload: %v", err)
	}
	if got.Status != jobstore.StatusCompleted || got.Error != nil || got.NextAttemptAt != nil {
		t.Errorf("status %s, error %v, nextAttemptAt %v; want completed, none, none", got.Status, got.Error, got.NextAttemptAt)
	}
}

func TestRecordUploadCanceledJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{})
	if _, err := e.store.Transition(ctx, job.ID, jobstore.StatusCanceled, "canceled", nil); err != nil {
		t.Fatal(err)
	}
	_, err := e.tr.RecordUpload(ctx, job.ID, upload("file_1", nil))
	if !errors.Is(err, jobstore.ErrIllegalTransition) {
		t.Fatalf("RecordUpload on a canceled job: %v, want ErrIllegalTransition", err)
	}
	if _, err := e.tr.RecordUpload(ctx, "01NOSUCHJOB0000000000000000", upload("file_2", nil)); !errors.Is(err, ErrUnknownJob) {
		t.Fatalf("RecordUpload on a missing job: %v, want ErrUnknownJob", err)
	}
}

func TestWebhookBeforeUploadRecorded(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{callback: true})

	changed, err := e.tr.ApplyItem(ctx, job.ID, "remove-bg", Success)
	if err != nil || !changed {
		t.Fatalf("ApplyItem: changed %v, %v", changed, err)
	}
	stored := e.get(t, job.ID)
	if stored.Status != jobstore.StatusActive || stored.Extensions["remove-bg"] != Success {
		t.Fatalf("after the webhook: status %s, extensions %v; want active, remove-bg success", stored.Status, stored.Extensions)
	}

	got, err := e.tr.RecordUpload(ctx, job.ID, upload("file_1", map[string]string{"remove-bg": Pending}))
	if err != nil {
		t.Fatalf("RecordUpload: %v", err)
	}
	if got.Status != jobstore.StatusCompleted || got.Extensions["remove-bg"] != Success {
		t.Fatalf("status %s, extensions %v; want completed, remove-bg success", got.Status, got.Extensions)
	}
	if n := len(e.callbacks(t, job.ID)); n != 1 {
		t.Errorf("%d callback tasks, want 1", n)
	}
	if n := len(e.tasksOf(t, tasks.TypeDeadline)); n != 0 {
		t.Errorf("%d deadline tasks, want 0", n)
	}
}

func TestParkedStatusAppliedByRecordUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{callback: true})
	const fileID = "file_parked"

	changed, err := e.tr.ApplyForFile(ctx, fileID, "remove-bg", "SUCCESS")
	if err != nil || !changed {
		t.Fatalf("ApplyForFile: changed %v, %v", changed, err)
	}
	if changed, err := e.tr.ApplyForFile(ctx, fileID, "remove-bg", Success); err != nil || changed {
		t.Fatalf("ApplyForFile duplicate: changed %v, %v", changed, err)
	}
	if changed, err := e.tr.ApplyForFile(ctx, fileID, "remove-bg", Pending); err != nil || changed {
		t.Fatalf("ApplyForFile pending after success: changed %v, %v", changed, err)
	}
	parked, err := e.rdb.HGetAll(ctx, parkedKey(fileID)).Result()
	if err != nil || !maps.Equal(parked, map[string]string{"remove-bg": Success}) {
		t.Fatalf("parked %v, %v", parked, err)
	}
	if ttl := e.rdb.PTTL(ctx, parkedKey(fileID)).Val(); ttl <= 0 || ttl > testDeadline {
		t.Errorf("parked key TTL %v, want up to %v", ttl, testDeadline)
	}
	if stored := e.get(t, job.ID); len(stored.Extensions) != 0 {
		t.Errorf("the job got parked statuses before its upload: %v", stored.Extensions)
	}

	got, err := e.tr.RecordUpload(ctx, job.ID, upload(fileID, map[string]string{"remove-bg": Pending}))
	if err != nil {
		t.Fatalf("RecordUpload: %v", err)
	}
	if got.Status != jobstore.StatusCompleted || got.Extensions["remove-bg"] != Success {
		t.Fatalf("status %s, extensions %v; want completed, remove-bg success", got.Status, got.Extensions)
	}
	if n := e.rdb.Exists(ctx, parkedKey(fileID)).Val(); n != 0 {
		t.Errorf("the parked key is still there")
	}
	if n := len(e.callbacks(t, job.ID)); n != 1 {
		t.Errorf("%d callback tasks, want 1", n)
	}

	// Now the file has a job: events go to it, not to the parking.
	if changed, err := e.tr.ApplyForFile(ctx, fileID, "remove-bg", Failed); err != nil || !changed {
		t.Fatalf("ApplyForFile on a recorded file: changed %v, %v", changed, err)
	}
	if stored := e.get(t, job.ID); stored.Extensions["remove-bg"] != Failed {
		t.Errorf("extensions %v, want remove-bg failed", stored.Extensions)
	}
	if n := e.rdb.Exists(ctx, parkedKey(fileID)).Val(); n != 0 {
		t.Errorf("an event for a recorded file was parked")
	}
}

// TestParkedStatusOfAnItemNotAskedFor: with nothing pending in the response, the
// parked statuses are read in the round trip of the write and applied after it: the
// job completes at once and keeps what was parked.
func TestParkedStatusOfAnItemNotAskedFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{callback: true})
	const fileID = "file_parked_unasked"
	if _, err := e.tr.ApplyForFile(ctx, fileID, "google-auto-tagging", Success); err != nil {
		t.Fatal(err)
	}
	got, err := e.tr.RecordUpload(ctx, job.ID, upload(fileID, nil))
	if err != nil {
		t.Fatalf("RecordUpload: %v", err)
	}
	if got.Status != jobstore.StatusCompleted || got.Extensions["google-auto-tagging"] != Success {
		t.Fatalf("status %s, extensions %v; want completed, google-auto-tagging success", got.Status, got.Extensions)
	}
	if stored := e.get(t, job.ID); stored.Extensions["google-auto-tagging"] != Success {
		t.Errorf("stored extensions %v", stored.Extensions)
	}
	if n := e.rdb.Exists(ctx, parkedKey(fileID)).Val(); n != 0 {
		t.Errorf("the parked key is still there")
	}
	if n := len(e.callbacks(t, job.ID)); n != 1 {
		t.Errorf("%d callback tasks, want 1", n)
	}
}

// permutations returns every distinct order of ops.
func permutations(ops string) []string {
	if len(ops) <= 1 {
		return []string{ops}
	}
	var out []string
	seen := map[byte]bool{}
	for i := range len(ops) {
		if seen[ops[i]] {
			continue
		}
		seen[ops[i]] = true
		rest := ops[:i] + ops[i+1:]
		for _, p := range permutations(rest) {
			out = append(out, string(ops[i])+p)
		}
	}
	return out
}

func TestMergeIsCommutative(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	want := map[string]string{"a": Success, "b": Failed}
	orders := append(permutations("ABR"), permutations("AABBRR")...) // 6 + 90

	for _, order := range orders {
		t.Run(order, func(t *testing.T) {
			job := e.activeJob(t, jobOpts{callback: true})
			for _, op := range order {
				var err error
				switch op {
				case 'A':
					_, err = e.tr.ApplyItem(ctx, job.ID, "a", Success)
				case 'B':
					_, err = e.tr.ApplyItem(ctx, job.ID, "b", Failed)
				case 'R':
					_, err = e.tr.RecordUpload(ctx, job.ID, upload("file_"+job.ID, map[string]string{"a": Pending, "b": Pending}))
				}
				if err != nil {
					t.Fatalf("%c: %v", op, err)
				}
			}
			got := e.get(t, job.ID)
			if got.Status != jobstore.StatusCompleted || !maps.Equal(got.Extensions, want) {
				t.Fatalf("status %s, extensions %v; want completed, %v", got.Status, got.Extensions, want)
			}
			if n := countEvents(got, jobstore.StatusCompleted); n != 1 {
				t.Errorf("completed %d times", n)
			}
			if n := len(e.callbacks(t, job.ID)); n != 1 {
				t.Errorf("%d callback tasks, want 1", n)
			}
		})
	}
}

func TestConcurrentWebhooksAndRecordUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	want := map[string]string{"a": Success, "b": Failed}

	for round := range 5 {
		job := e.activeJob(t, jobOpts{callback: true})
		start := make(chan struct{})
		errs := make(chan error, 21)
		var wg sync.WaitGroup
		for range 10 {
			wg.Go(func() {
				<-start
				for item, s := range want {
					if _, err := e.tr.ApplyItem(ctx, job.ID, item, s); err != nil {
						errs <- fmt.Errorf("ApplyItem %s: %w", item, err)
					}
				}
			})
		}
		wg.Go(func() {
			<-start
			if _, err := e.tr.RecordUpload(ctx, job.ID, upload("file_"+job.ID, map[string]string{"a": Pending, "b": Pending})); err != nil {
				errs <- fmt.Errorf("RecordUpload: %w", err)
			}
		})
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Errorf("round %d: %v", round, err)
		}
		got := e.get(t, job.ID)
		if got.Status != jobstore.StatusCompleted || !maps.Equal(got.Extensions, want) {
			t.Fatalf("round %d: status %s, extensions %v; want completed, %v", round, got.Status, got.Extensions, want)
		}
		if n := countEvents(got, jobstore.StatusCompleted); n != 1 {
			t.Errorf("round %d: completed %d times", round, n)
		}
		if n := len(e.callbacks(t, job.ID)); n != 1 {
			t.Errorf("round %d: %d callback tasks, want 1", round, n)
		}
	}
}

func TestConcurrentParkAndRecordUpload(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	// Account events for the file race the upload's record: none may be lost.
	for round := range 10 {
		job := e.activeJob(t, jobOpts{})
		fileID := "file_" + job.ID
		start := make(chan struct{})
		errs := make(chan error, 3)
		var wg sync.WaitGroup
		for _, item := range []string{"a", "b"} {
			wg.Go(func() {
				<-start
				if _, err := e.tr.ApplyForFile(ctx, fileID, item, Success); err != nil {
					errs <- err
				}
			})
		}
		wg.Go(func() {
			<-start
			if _, err := e.tr.RecordUpload(ctx, job.ID, upload(fileID, map[string]string{"a": Pending, "b": Pending})); err != nil {
				errs <- err
			}
		})
		close(start)
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatalf("round %d: %v", round, err)
		}
		got := e.get(t, job.ID)
		if got.Status != jobstore.StatusCompleted || got.Extensions["a"] != Success || got.Extensions["b"] != Success {
			t.Fatalf("round %d: status %s, extensions %v; want completed, both success", round, got.Status, got.Extensions)
		}
		if n := e.rdb.Exists(ctx, parkedKey(fileID)).Val(); n != 0 {
			t.Errorf("round %d: parked statuses left over", round)
		}
	}
}

func TestStatusOnlyMovesUp(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{callback: true})
	if _, err := e.tr.RecordUpload(ctx, job.ID, upload("file_1", map[string]string{"x": Pending, "y": Pending})); err != nil {
		t.Fatal(err)
	}

	steps := []struct {
		status  string
		changed bool
		want    string
	}{
		{Success, true, Success},
		{Pending, false, Success}, // a final status never returns to pending
		{Success, false, Success}, // a duplicate
		{Failed, true, Failed},    // failed outranks success
		{Success, false, Failed},
		{Unknown, false, Failed},
	}
	for _, s := range steps {
		changed, err := e.tr.ApplyItem(ctx, job.ID, "x", s.status)
		if err != nil {
			t.Fatalf("ApplyItem x %s: %v", s.status, err)
		}
		got := e.get(t, job.ID)
		if changed != s.changed || got.Extensions["x"] != s.want {
			t.Errorf("ApplyItem x %s: changed %v, x %s; want %v, %s", s.status, changed, got.Extensions["x"], s.changed, s.want)
		}
		if got.Status != jobstore.StatusUploaded {
			t.Errorf("status %s while y is pending", got.Status)
		}
	}

	// The deadline gives up on y; a real answer after it still counts.
	task, _ := tasks.NewDeadlineTask(job.ID)
	if err := e.tr.HandleDeadline(ctx, task); err != nil {
		t.Fatalf("HandleDeadline: %v", err)
	}
	if got := e.get(t, job.ID); got.Status != jobstore.StatusCompleted || got.Extensions["y"] != Unknown {
		t.Fatalf("after the deadline: status %s, extensions %v", got.Status, got.Extensions)
	}
	changed, err := e.tr.ApplyItem(ctx, job.ID, "y", Success)
	if err != nil || !changed {
		t.Fatalf("ApplyItem y success after the deadline: changed %v, %v", changed, err)
	}
	got := e.get(t, job.ID)
	if got.Status != jobstore.StatusCompleted || !maps.Equal(got.Extensions, map[string]string{"x": Failed, "y": Success}) {
		t.Errorf("status %s, extensions %v; want completed, x failed, y success", got.Status, got.Extensions)
	}
	if n := countEvents(got, jobstore.StatusCompleted); n != 1 {
		t.Errorf("completed %d times", n)
	}
	if n := len(e.callbacks(t, job.ID)); n != 1 {
		t.Errorf("%d callback tasks, want 1", n)
	}
}

func TestApplyItemRecordsItemsNotAskedFor(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{})
	if _, err := e.tr.RecordUpload(ctx, job.ID, upload("file_1", nil)); err != nil {
		t.Fatal(err)
	}
	if changed, err := e.tr.ApplyItem(ctx, job.ID, "aws-auto-tagging", Failed); err != nil || !changed {
		t.Fatalf("ApplyItem: changed %v, %v", changed, err)
	}
	if got := e.get(t, job.ID); got.Status != jobstore.StatusCompleted || got.Extensions["aws-auto-tagging"] != Failed {
		t.Errorf("status %s, extensions %v", got.Status, got.Extensions)
	}
}

func TestApplyItemErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	_, err := e.tr.ApplyItem(ctx, "01NOSUCHJOB0000000000000000", "remove-bg", Success)
	if !errors.Is(err, ErrUnknownJob) || !errors.Is(err, jobstore.ErrNotFound) {
		t.Errorf("ApplyItem on a missing job: %v, want ErrUnknownJob and jobstore.ErrNotFound", err)
	}
	job := e.activeJob(t, jobOpts{})
	if _, err := e.tr.ApplyItem(ctx, job.ID, "remove-bg", "done"); err == nil {
		t.Errorf("ApplyItem with status %q: no error", "done")
	}
	if _, err := e.tr.ApplyItem(ctx, job.ID, "", Success); err == nil {
		t.Errorf("ApplyItem with no item: no error")
	}
	if _, err := e.tr.ApplyForFile(ctx, "", "remove-bg", Success); err == nil {
		t.Errorf("ApplyForFile with no file id: no error")
	}
}

func TestHandleDeadline(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()

	t.Run("pending items become unknown", func(t *testing.T) {
		job := e.activeJob(t, jobOpts{callback: true})
		if _, err := e.tr.RecordUpload(ctx, job.ID, upload("file_1", map[string]string{"b": Pending, "a": Pending, "c": Success})); err != nil {
			t.Fatal(err)
		}
		task, _ := tasks.NewDeadlineTask(job.ID)
		if err := e.tr.HandleDeadline(ctx, task); err != nil {
			t.Fatalf("HandleDeadline: %v", err)
		}
		got := e.get(t, job.ID)
		want := map[string]string{"a": Unknown, "b": Unknown, "c": Success}
		if got.Status != jobstore.StatusCompleted || !maps.Equal(got.Extensions, want) {
			t.Fatalf("status %s, extensions %v; want completed, %v", got.Status, got.Extensions, want)
		}
		if msg := lastEvent(got).Message; msg != "gave up waiting for: a, b" {
			t.Errorf("event %q", msg)
		}
		if n := len(e.callbacks(t, job.ID)); n != 1 {
			t.Errorf("%d callback tasks, want 1", n)
		}
		// Run again (asynq runs a task at least once): nothing changes.
		if err := e.tr.HandleDeadline(ctx, task); err != nil {
			t.Fatalf("HandleDeadline again: %v", err)
		}
		if again := e.get(t, job.ID); !again.UpdatedAt.Equal(got.UpdatedAt) {
			t.Errorf("a second deadline wrote the job")
		}
	})

	t.Run("completed job", func(t *testing.T) {
		job := e.activeJob(t, jobOpts{})
		before, err := e.tr.RecordUpload(ctx, job.ID, upload("file_2", map[string]string{"a": Success}))
		if err != nil {
			t.Fatal(err)
		}
		task, _ := tasks.NewDeadlineTask(job.ID)
		if err := e.tr.HandleDeadline(ctx, task); err != nil {
			t.Fatalf("HandleDeadline: %v", err)
		}
		after := e.get(t, job.ID)
		if after.Status != jobstore.StatusCompleted || !after.UpdatedAt.Equal(before.UpdatedAt) ||
			len(after.Events) != len(before.Events) || !maps.Equal(after.Extensions, before.Extensions) {
			t.Errorf("the deadline changed a completed job: %+v", after)
		}
	})

	t.Run("missing job", func(t *testing.T) {
		task, _ := tasks.NewDeadlineTask("01NOSUCHJOB0000000000000000")
		if err := e.tr.HandleDeadline(ctx, task); err != nil {
			t.Errorf("HandleDeadline of a missing job: %v", err)
		}
	})

	t.Run("bad task", func(t *testing.T) {
		err := e.tr.HandleDeadline(ctx, asynq.NewTask(tasks.TypeDeadline, []byte(`{}`)))
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("HandleDeadline of a task without a job id: %v, want SkipRetry", err)
		}
	})
}

func TestFinishedRecoversAnUnsentCallback(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	// A job completed, but the process died before Finished queued its callback.
	job := e.activeJob(t, jobOpts{callback: true})
	if _, err := e.store.Transition(ctx, job.ID, jobstore.StatusUploaded, "uploaded", func(j *jobstore.Job) error {
		j.Extensions = map[string]string{"a": Pending}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Transition(ctx, job.ID, jobstore.StatusCompleted, "all items final", func(j *jobstore.Job) error {
		j.Extensions["a"] = Success
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	task, _ := tasks.NewDeadlineTask(job.ID)
	for range 2 {
		if err := e.tr.HandleDeadline(ctx, task); err != nil {
			t.Fatalf("HandleDeadline: %v", err)
		}
	}
	if n := len(e.callbacks(t, job.ID)); n != 1 {
		t.Errorf("%d callback tasks, want 1", n)
	}
	if got := e.get(t, job.ID); got.Callback.Status != "pending" {
		t.Errorf("callback status %q, want pending", got.Callback.Status)
	}
}

func TestFinished(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	job := e.activeJob(t, jobOpts{callback: true})
	if err := e.tr.Finished(ctx, job); err == nil {
		t.Errorf("Finished of an active job: no error")
	}
	failed, err := e.store.Transition(ctx, job.ID, jobstore.StatusFailed, "gave up", nil)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := e.tr.Finished(ctx, failed); err != nil {
			t.Fatalf("Finished: %v", err)
		}
	}
	cbs := e.callbacks(t, job.ID)
	if len(cbs) != 1 || cbs[0].ID != "callback:"+job.ID+":failed" {
		t.Fatalf("callback tasks %v, want one for failed", cbs)
	}
	if failed.Callback.Status != "pending" || e.get(t, job.ID).Callback.Status != "pending" {
		t.Errorf("callback status not pending")
	}
	// A delivered callback's status stays.
	if _, err := e.store.Update(ctx, job.ID, func(j *jobstore.Job) error {
		j.Callback.Status = "delivered"
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Finished(ctx, e.get(t, job.ID)); err != nil {
		t.Fatal(err)
	}
	if s := e.get(t, job.ID).Callback.Status; s != "delivered" {
		t.Errorf("callback status %q, want delivered", s)
	}

	plain := e.activeJob(t, jobOpts{})
	canceled, err := e.store.Transition(ctx, plain.ID, jobstore.StatusCanceled, "canceled", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.tr.Finished(ctx, canceled); err != nil {
		t.Fatal(err)
	}
	if n := len(e.callbacks(t, plain.ID)); n != 0 {
		t.Errorf("%d callback tasks for a job without a callbackUrl", n)
	}
}

func TestRelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	body := []byte(`{"type":"extension","service":"remove-bg","status":"SUCCESS","fileId":"file_1"}`)

	plain := e.activeJob(t, jobOpts{})
	if err := e.tr.Relay(ctx, plain.ID, body); err != nil {
		t.Fatalf("Relay without a webhookUrl: %v", err)
	}
	if n := len(e.tasksOf(t, tasks.TypeRelay)); n != 0 {
		t.Fatalf("%d relay tasks for a job without a webhookUrl", n)
	}

	job := e.activeJob(t, jobOpts{webhookURL: "https://app.example.com/imagekit"})
	if err := e.tr.Relay(ctx, job.ID, body); err != nil {
		t.Fatalf("Relay: %v", err)
	}
	relays := e.tasksOf(t, tasks.TypeRelay)
	if len(relays) != 1 {
		t.Fatalf("%d relay tasks, want 1", len(relays))
	}
	p, err := tasks.ParseRelayTask(asynq.NewTask(relays[0].Type, relays[0].Payload))
	if err != nil {
		t.Fatal(err)
	}
	if p.JobID != job.ID || !jsonEqual(t, p.Body, body) || relays[0].MaxRetry != relayMaxRetry {
		t.Errorf("relay task: job %s, body %s, max retry %d", p.JobID, p.Body, relays[0].MaxRetry)
	}

	if err := e.tr.Relay(ctx, "01NOSUCHJOB0000000000000000", body); !errors.Is(err, ErrUnknownJob) {
		t.Errorf("Relay for a missing job: %v, want ErrUnknownJob", err)
	}
}

func jsonEqual(t *testing.T, a, b []byte) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &y); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprint(x) == fmt.Sprint(y)
}

func TestParkMergesLikeMerge(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	statuses := []string{Pending, Unknown, Success, Failed}
	for _, a := range statuses {
		for _, b := range statuses {
			fileID := "file_" + a + "_" + b
			for _, s := range []string{a, b} {
				if _, err := e.tr.ApplyForFile(ctx, fileID, "x", s); err != nil {
					t.Fatal(err)
				}
			}
			if got := e.rdb.HGet(ctx, parkedKey(fileID), "x").Val(); got != Merge(a, b) {
				t.Errorf("parked %s then %s: %s, want %s", a, b, got, Merge(a, b))
			}
		}
	}
}
