package restapi_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// TestMain stops the package's private redis-server when the tests end.
func TestMain(m *testing.M) { redistest.Main(m) }

// env is one test's producer, on its own Redis database, with an inspector that sees
// the same queues.
type env struct {
	p     *producer.Client
	rdb   *redis.Client
	insp  *asynq.Inspector
	store *jobstore.Store // what a worker writes to
}

func newEnv(t *testing.T, cfg producer.Config) *env {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	cfg.Redis = rdb
	p, err := producer.New(cfg)
	if err != nil {
		t.Fatalf("producer.New: %v", err)
	}
	t.Cleanup(func() {
		if err := p.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	insp := asynq.NewInspectorFromRedisClient(rdb)
	t.Cleanup(func() { _ = insp.Close() })
	return &env{p: p, rdb: rdb, insp: insp, store: jobstore.New(rdb, jobstore.Options{})}
}

func validJob(name string) tasks.Upload {
	return tasks.Upload{File: "https://example.com/" + name, FileName: name}
}

func (e *env) enqueue(t *testing.T, u tasks.Upload) *tasks.Job {
	t.Helper()
	job, err := e.p.Enqueue(t.Context(), u)
	if err != nil {
		t.Fatalf("Enqueue(%s): %v", u.FileName, err)
	}
	return job
}

// task returns the asynq task of the job, failing the test when there is none.
func (e *env) task(t *testing.T, queue, id string) *asynq.TaskInfo {
	t.Helper()
	info, err := e.insp.GetTaskInfo(queue, id)
	if err != nil {
		t.Fatalf("GetTaskInfo(%s, %s): %v", queue, id, err)
	}
	return info
}

// noTask fails the test when the job still has a task in queue.
func (e *env) noTask(t *testing.T, queue, id string) {
	t.Helper()
	info, err := e.insp.GetTaskInfo(queue, id)
	if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("GetTaskInfo(%s, %s) = %+v, %v; want no task", queue, id, info, err)
	}
}

// taskCount is the number of tasks in every queue, in any state.
func (e *env) taskCount(t *testing.T) int {
	t.Helper()
	queues, err := e.insp.Queues()
	if err != nil {
		t.Fatalf("Queues: %v", err)
	}
	n := 0
	for _, q := range queues {
		info, err := e.insp.GetQueueInfo(q)
		if err != nil {
			t.Fatalf("GetQueueInfo(%s): %v", q, err)
		}
		n += info.Size
	}
	return n
}

// allJobs lists every job in the store, following cursors.
func (e *env) allJobs(t *testing.T, status tasks.Status) []*tasks.Job {
	t.Helper()
	var all []*tasks.Job
	cursor := ""
	for range 1000 {
		page, next, err := e.p.List(t.Context(), tasks.ListOptions{Status: status, Cursor: cursor})
		if err != nil {
			t.Fatalf("List: %v", err)
		}
		all = append(all, page...)
		if next == "" {
			return all
		}
		cursor = next
	}
	t.Fatal("List never returned an empty cursor")
	return nil
}

func request(t *testing.T, job *tasks.Job) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(job.Request, &doc); err != nil {
		t.Fatalf("job %s: request is not a JSON object: %v\n%s", job.ID, err, job.Request)
	}
	return doc
}

// drive moves a job through the store as a worker would.
func drive(t *testing.T, e *env, id string, steps ...tasks.Status) *tasks.Job {
	t.Helper()
	var job *tasks.Job
	for _, to := range steps {
		var err error
		job, err = e.store.Transition(t.Context(), id, to, "test: "+string(to), func(j *tasks.Job) error {
			switch to {
			case tasks.StatusActive:
				j.Attempts++
			case tasks.StatusFailed:
				j.Error = &tasks.JobError{Code: "imagekit_rejected", Message: "Your request failed 'checks' validation.", HTTPStatus: 400}
			}
			return nil
		})
		if err != nil {
			t.Fatalf("Transition(%s → %s): %v", id, to, err)
		}
	}
	return job
}

// complete finishes a job as a worker would: its task is gone once it succeeded.
func complete(t *testing.T, e *env, job *tasks.Job) *tasks.Job {
	t.Helper()
	done := drive(t, e, job.ID, tasks.StatusActive, tasks.StatusCompleted)
	if err := e.insp.DeleteTask(job.Queue, job.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	return done
}

func mustGet(t *testing.T, e *env, id string) *tasks.Job {
	t.Helper()
	job, err := e.p.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return job
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
