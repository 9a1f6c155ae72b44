package completion

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// TestMain stops the package's private redis-server when the tests end.
func TestMain(m *testing.M) { ikqtest.Main(m) }

const testDeadline = 2 * time.Hour

// env is a Tracker on the test's own Redis database.
type env struct {
	tr    *Tracker
	store *jobstore.Store
	rdb   *redis.Client
	insp  *asynq.Inspector
}

func newEnv(t *testing.T) *env {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	store := jobstore.New(rdb, jobstore.Options{})
	tr := New(Config{
		Store:    store,
		Redis:    rdb,
		Queue:    asynq.NewClientFromRedisClient(rdb),
		Deadline: testDeadline,
		Logger:   slog.New(slog.DiscardHandler),
	})
	return &env{tr: tr, store: store, rdb: rdb, insp: asynq.NewInspectorFromRedisClient(rdb)}
}

// jobOpts say what a test job has.
type jobOpts struct {
	callback   bool   // a callbackUrl
	webhookURL string // the app's own webhookUrl, in the spec
}

// activeJob creates a job and moves it to active, as a worker does before uploading.
func (e *env) activeJob(t *testing.T, o jobOpts) *jobstore.Job {
	t.Helper()
	spec := map[string]any{"file": "https://example.com/a.jpg", "fileName": "a.jpg"}
	if o.webhookURL != "" {
		spec["webhookUrl"] = o.webhookURL
	}
	raw, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	j := &jobstore.Job{Queue: "default", MaxAttempts: 3, Request: raw}
	if o.callback {
		j.Callback = &jobstore.Callback{URL: "https://app.example.com/done"}
	}
	ctx := context.Background()
	job, _, err := e.store.Create(ctx, j, raw)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	job, err = e.store.Transition(ctx, job.ID, jobstore.StatusActive, "attempt 1 of 3", func(j *jobstore.Job) error {
		j.Attempts = 1
		return nil
	})
	if err != nil {
		t.Fatalf("Transition to active: %v", err)
	}
	return job
}

func (e *env) get(t *testing.T, id string) *jobstore.Job {
	t.Helper()
	j, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("Get %s: %v", id, err)
	}
	return j
}

// tasksOf returns the tasks of type typ in the default queue, in any state.
func (e *env) tasksOf(t *testing.T, typ string) []*asynq.TaskInfo {
	t.Helper()
	lists := []func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		e.insp.ListPendingTasks, e.insp.ListScheduledTasks, e.insp.ListActiveTasks,
		e.insp.ListRetryTasks, e.insp.ListArchivedTasks, e.insp.ListCompletedTasks,
	}
	var found []*asynq.TaskInfo
	for _, list := range lists {
		infos, err := list(tasks.QueueDefault, asynq.PageSize(1000))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return nil
		}
		if err != nil {
			t.Fatalf("list tasks: %v", err)
		}
		for _, info := range infos {
			if info.Type == typ {
				found = append(found, info)
			}
		}
	}
	return found
}

// callbacks returns the callback tasks of job id.
func (e *env) callbacks(t *testing.T, id string) []*asynq.TaskInfo {
	t.Helper()
	var found []*asynq.TaskInfo
	for _, info := range e.tasksOf(t, tasks.TypeCallback) {
		p, err := tasks.ParseCallbackTask(asynq.NewTask(info.Type, info.Payload))
		if err != nil {
			t.Fatalf("callback task %s: %v", info.ID, err)
		}
		if p.JobID == id {
			found = append(found, info)
		}
	}
	return found
}

// countEvents counts the events of job j that entered state.
func countEvents(j *jobstore.Job, state jobstore.Status) int {
	n := 0
	for _, ev := range j.Events {
		if ev.State == state {
			n++
		}
	}
	return n
}

func lastEvent(j *jobstore.Job) jobstore.Event { return j.Events[len(j.Events)-1] }

func upload(fileID string, items map[string]string) Upload {
	return Upload{
		Result:   json.RawMessage(`{"fileId":"` + fileID + `","filePath":"/a.jpg"}`),
		FileID:   fileID,
		FilePath: "/a.jpg",
		Items:    items,
	}
}
