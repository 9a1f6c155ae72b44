package e2e

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

// Env is one test's producer on its own Redis database, with an inspector that sees
// the same queues and the job store a worker writes to: the producer's side of the
// pipeline, for tests that play the worker's part themselves.
type Env struct {
	P     *producer.Client
	RDB   *redis.Client
	Insp  *asynq.Inspector
	Store *jobstore.Store // what a worker writes to
}

// NewEnv makes a producer from cfg on a Redis database of the test's own; it is
// closed at cleanup, and closing it must succeed.
func NewEnv(t *testing.T, cfg producer.Config) *Env {
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
	// The inspector shares rdb, which redistest closes: it has nothing to close.
	insp := asynq.NewInspectorFromRedisClient(rdb)
	return &Env{P: p, RDB: rdb, Insp: insp, Store: jobstore.New(rdb, jobstore.Options{})}
}

// ValidJob is a job the producer accepts, for the file name.
func ValidJob(name string) tasks.Upload {
	return tasks.Upload{File: "https://example.com/" + name, FileName: name}
}

// Enqueue enqueues u and fails the test if the producer refuses it.
func (e *Env) Enqueue(t *testing.T, u tasks.Upload) *tasks.Job {
	t.Helper()
	job, err := e.P.Enqueue(t.Context(), u)
	if err != nil {
		t.Fatalf("Enqueue(%s): %v", u.FileName, err)
	}
	return job
}

// Task returns the asynq task of the job, failing the test when there is none.
func (e *Env) Task(t *testing.T, queue, id string) *asynq.TaskInfo {
	t.Helper()
	info, err := e.Insp.GetTaskInfo(queue, id)
	if err != nil {
		t.Fatalf("GetTaskInfo(%s, %s): %v", queue, id, err)
	}
	return info
}

// NoTask fails the test when the job still has a task in queue.
func (e *Env) NoTask(t *testing.T, queue, id string) {
	t.Helper()
	info, err := e.Insp.GetTaskInfo(queue, id)
	if !errors.Is(err, asynq.ErrTaskNotFound) && !errors.Is(err, asynq.ErrQueueNotFound) {
		t.Fatalf("GetTaskInfo(%s, %s) = %+v, %v; want no task", queue, id, info, err)
	}
}

// TaskCount is the number of tasks in every queue, in any state.
func (e *Env) TaskCount(t *testing.T) int {
	t.Helper()
	queues, err := e.Insp.Queues()
	if err != nil {
		t.Fatalf("Queues: %v", err)
	}
	n := 0
	for _, q := range queues {
		info, err := e.Insp.GetQueueInfo(q)
		if err != nil {
			t.Fatalf("GetQueueInfo(%s): %v", q, err)
		}
		n += info.Size
	}
	return n
}

// AllJobs lists every job in the store, following cursors.
func (e *Env) AllJobs(t *testing.T, status tasks.Status) []*tasks.Job {
	t.Helper()
	var all []*tasks.Job
	cursor := ""
	for range 1000 {
		page, next, err := e.P.List(t.Context(), tasks.ListOptions{Status: status, Cursor: cursor})
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

// Drive moves a job through the store as a worker would.
func (e *Env) Drive(t *testing.T, id string, steps ...tasks.Status) *tasks.Job {
	t.Helper()
	var job *tasks.Job
	for _, to := range steps {
		var err error
		job, err = e.Store.Transition(t.Context(), id, to, "test: "+string(to), func(j *tasks.Job) error {
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

// Complete finishes a job as a worker would: its task is gone once it succeeded.
func (e *Env) Complete(t *testing.T, job *tasks.Job) *tasks.Job {
	t.Helper()
	done := e.Drive(t, job.ID, tasks.StatusActive, tasks.StatusCompleted)
	if err := e.Insp.DeleteTask(job.Queue, job.ID); err != nil {
		t.Fatalf("DeleteTask: %v", err)
	}
	return done
}

// MustGet is the producer's record of the job, failing the test on an error.
func (e *Env) MustGet(t *testing.T, id string) *tasks.Job {
	t.Helper()
	job, err := e.P.Get(t.Context(), id)
	if err != nil {
		t.Fatalf("Get(%s): %v", id, err)
	}
	return job
}

// Request is the job's request as a JSON object.
func Request(t *testing.T, job *tasks.Job) map[string]any {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(job.Request, &doc); err != nil {
		t.Fatalf("job %s: request is not a JSON object: %v\n%s", job.ID, err, job.Request)
	}
	return doc
}

// MustJSON is v as JSON, failing the test when it cannot be encoded.
func MustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
