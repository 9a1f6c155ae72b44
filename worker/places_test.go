package worker_test

import (
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

// A worker of Concurrency 2 takes two tasks more from the queue than it uploads:
// they are made active while both places upload, and start as soon as a place
// frees. No more than two sources are ever open at once, and every job completes on
// its first attempt.
func TestStagedTasksWaitForAnUploadPlace(t *testing.T) {
	t.Parallel()
	gate := make(chan struct{})
	var once sync.Once
	release := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(release)
	var open, most atomic.Int64
	src := ikqtest.NewSourceServer(t, ikqtest.PNG(t, 3, 16, 16), func(_ int64, _ http.ResponseWriter, r *http.Request) bool {
		n := open.Add(1)
		defer open.Add(-1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		select {
		case <-gate:
		case <-r.Context().Done():
		}
		return false
	})
	s := newStack(t, withWorker(func(c *worker.Config) { c.Concurrency = 2 }))
	var jobs []*jobstore.Job
	for i := range 6 {
		jobs = append(jobs, s.Enqueue(tasks.Upload{File: fmt.Sprintf("%s/%d.png", src.URL, i), FileName: fmt.Sprintf("p%d.png", i)}))
	}
	active := func() (n int, text string) {
		return s.countJobs(jobs, func(got *jobstore.Job) bool { return got.Status == jobstore.StatusActive })
	}
	// Two uploading, two staged: four active while the sources hold.
	ikqtest.Eventually(t, func() string { _, text := active(); return text }, func() bool { n, _ := active(); return n == 4 })
	if n := open.Load(); n != 2 {
		t.Errorf("%d sources open with 4 jobs active, want 2 (the upload places)", n)
	}
	release()
	for _, j := range jobs {
		got := waitFor(t, s.Producer, j.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
		if got.Status != jobstore.StatusCompleted || got.Attempts != 1 {
			t.Errorf("want completed on attempt 1; record:\n%s", e2e.RecordText(got))
		}
	}
	if m := most.Load(); m != 2 {
		t.Errorf("at most %d sources open at once, want 2", m)
	}
}
