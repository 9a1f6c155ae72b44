package producer_test

import (
	"fmt"
	"slices"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// batchOf returns n valid jobs, every seventh without a file (invalid).
func batchOf(n int) []tasks.Upload {
	in := make([]tasks.Upload, n)
	for i := range in {
		in[i] = e2e.ValidJob(fmt.Sprintf("%d.jpg", i))
		if i%7 == 3 {
			in[i].File = ""
		}
	}
	return in
}

// TestEnqueueEachAcrossChunks: a batch of several chunks yields every index once,
// in order, each job its own; the jobs' ids follow the batch's order; every valid
// job has its task.
func TestEnqueueEachAcrossChunks(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	in := batchOf(300) // three chunks, the last one short
	var seen []int
	var ids []string
	for i, r := range e.P.EnqueueEach(t.Context(), in) {
		seen = append(seen, i)
		if in[i].File == "" {
			if r.Err == nil || r.Job != nil {
				t.Errorf("job %d has no file: got %+v, %v; want an error only", i, r.Job, r.Err)
			}
			continue
		}
		if r.Err != nil || r.Job == nil {
			t.Fatalf("job %d: %v", i, r.Err)
		}
		if name := e2e.Request(t, r.Job)["fileName"]; name != in[i].FileName {
			t.Errorf("result %d is the job of %v, want %s", i, name, in[i].FileName)
		}
		ids = append(ids, r.Job.ID)
	}
	if want := len(in); len(seen) != want || !slices.IsSorted(seen) || seen[0] != 0 || seen[want-1] != want-1 {
		t.Errorf("yielded %d indexes (sorted: %v), want 0..%d each once", len(seen), slices.IsSorted(seen), want-1)
	}
	if !slices.IsSorted(ids) {
		t.Error("the jobs' ids do not follow the batch's order")
	}
	if n, want := e.TaskCount(t), len(ids); n != want {
		t.Errorf("%d tasks, want %d", n, want)
	}
}

// TestEnqueueEachStoppedEarly: a loop that stops after the first result still has
// every job of the batch enqueued when the iteration returns.
func TestEnqueueEachStoppedEarly(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	in := batchOf(200)
	valid := 0
	for _, u := range in {
		if u.File != "" {
			valid++
		}
	}
	yielded := 0
	for range e.P.EnqueueEach(t.Context(), in) {
		yielded++
		break
	}
	if yielded != 1 {
		t.Fatalf("yielded %d results, want 1", yielded)
	}
	if n := e.TaskCount(t); n != valid {
		t.Errorf("%d tasks after the loop stopped, want all %d valid jobs'", n, valid)
	}
	if jobs := e.AllJobs(t, ""); len(jobs) != valid {
		t.Errorf("%d jobs recorded, want %d", len(jobs), valid)
	}
}
