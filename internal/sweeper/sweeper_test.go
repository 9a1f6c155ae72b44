package sweeper

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

func TestMain(m *testing.M) { ikqtest.Main(m) }

type fixture struct {
	rdb   *redis.Client
	store *jobstore.Store
	sw    *Sweeper
	insp  *asynq.Inspector
	queue *asynq.Client
	now   time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{rdb: redistest.New(t).Client(t), now: time.Now()}
	f.store = jobstore.New(f.rdb, jobstore.Options{Now: func() time.Time { return f.now }})
	f.sw = New(Config{Store: f.store, Redis: f.rdb, Grace: time.Minute})
	f.insp = asynq.NewInspectorFromRedisClient(f.rdb)
	f.queue = asynq.NewClientFromRedisClient(f.rdb)
	return f
}

// job creates a job as the producer does, written at f.now, without its task.
func (f *fixture) job(t *testing.T, name string) *tasks.Job {
	t.Helper()
	spec, _ := json.Marshal(map[string]string{"file": "https://example.com/" + name, "fileName": name})
	j, _, err := f.store.Create(t.Context(), &tasks.Job{Queue: "default", MaxAttempts: 3}, spec)
	if err != nil {
		t.Fatal(err)
	}
	return j
}

func (f *fixture) enqueue(t *testing.T, j *tasks.Job) {
	t.Helper()
	task, err := tasks.JobUploadTask(j, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.queue.EnqueueContext(t.Context(), task); err != nil {
		t.Fatal(err)
	}
}

func TestSweepRequeuesJobsWhoseTaskVanished(t *testing.T) {
	f := newFixture(t)
	f.now = time.Now().Add(-10 * time.Minute)
	lost := f.job(t, "lost.jpg")
	queued := f.job(t, "queued.jpg")
	f.enqueue(t, queued)
	f.now = time.Now()
	recent := f.job(t, "recent.jpg") // within the grace: its task may be on its way

	res, err := f.sw.Sweep(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != 1 || res.Failed != 0 || res.Checked != 2 {
		t.Fatalf("Sweep = %+v, want 2 checked, 1 re-queued", res)
	}
	info, err := f.insp.GetTaskInfo("default", lost.ID)
	if err != nil {
		t.Fatalf("the lost job has no task after the sweep: %v", err)
	}
	if info.State != asynq.TaskStatePending || info.MaxRetry != lost.MaxAttempts-1 || info.Type != tasks.TypeUpload {
		t.Errorf("re-queued task = state %v, max retry %d, type %s", info.State, info.MaxRetry, info.Type)
	}
	if p, err := tasks.ParseUploadTask(asynq.NewTask(info.Type, info.Payload)); err != nil || p.JobID != lost.ID {
		t.Errorf("re-queued task's payload names job %q (%v), want %s", p.JobID, err, lost.ID)
	}
	if _, err := f.insp.GetTaskInfo("default", recent.ID); err == nil {
		t.Error("a job within the grace period got a task")
	}

	// The next sweep finds every task in place.
	if res, err := f.sw.Sweep(t.Context()); err != nil || res.Requeued+res.Failed != 0 {
		t.Fatalf("second Sweep = %+v, %v; want nothing to do", res, err)
	}
}

func TestSweepFailsJobsWhoseTaskWasArchived(t *testing.T) {
	f := newFixture(t)
	f.now = time.Now().Add(-10 * time.Minute)
	j := f.job(t, "archived.jpg")
	f.enqueue(t, j)
	if err := f.insp.ArchiveTask("default", j.ID); err != nil {
		t.Fatal(err)
	}
	f.now = time.Now()
	res, err := f.sw.Sweep(t.Context())
	if err != nil || res.Failed != 1 || res.Requeued != 0 {
		t.Fatalf("Sweep = %+v, %v; want 1 failed", res, err)
	}
	got, err := f.store.Get(t.Context(), j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != tasks.StatusFailed || got.Error == nil || got.Error.Code != "task_archived" ||
		!strings.Contains(got.Error.Message, "archived") {
		t.Fatalf("job after the sweep: status %s, error %+v", got.Status, got.Error)
	}
}

func TestOneSweepAtATime(t *testing.T) {
	f := newFixture(t)
	f.now = time.Now().Add(-10 * time.Minute)
	f.job(t, "lost.jpg")
	if err := f.rdb.Set(t.Context(), lockKey, "1", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if res, err := f.sw.Sweep(t.Context()); err != nil || res != (Result{}) {
		t.Fatalf("Sweep while another process sweeps = %+v, %v; want nothing done", res, err)
	}
}

// TestTaskKeyIsAsynqs holds taskKey to the asynq in go.mod: the sweeper reads task
// states from it directly, a page of jobs per round trip.
func TestTaskKeyIsAsynqs(t *testing.T) {
	f := newFixture(t)
	j := f.job(t, "a.jpg")
	f.enqueue(t, j)
	state, err := f.rdb.HGet(t.Context(), taskKey(j.Queue, j.ID), "state").Result()
	if err != nil || state != "pending" {
		t.Fatalf("HGET %s state = %q, %v; asynq's task layout changed", taskKey(j.Queue, j.ID), state, err)
	}
}
