package robustness

import (
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// TestShutdownHandsUploadsBack sends SIGTERM to a worker in the middle of ten uploads
// that each take seconds to stream. With --shutdown-grace 1s the worker gives up on
// them after a second: asynq pushes their tasks back to pending without using an
// attempt, the worker records the jobs as queued again and exits. Another worker
// then uploads each of them once.
func TestShutdownHandsUploadsBack(t *testing.T) {
	long(t)
	const (
		n     = 10
		grace = time.Second
	)
	srv := redistest.NewServer(t)
	c := newClient(t, srv.Addr)
	emu := startEmulator(t)
	slow := newSlowServer(t, 2<<20, 4*time.Second)
	urls := make([]string, n)
	for i := range urls {
		urls[i] = slow.url(fmt.Sprint("f", i))
	}
	jobs := c.enqueue(t, urls)

	a := startWorker(t, "worker A", redisURL(srv.Addr), emu, "--concurrency", "10", "--shutdown-grace", grace.String())
	waitFor(t, time.Minute, 20*time.Millisecond, "every upload to be streaming", func() (bool, string) {
		streaming := 0
		for i := range n {
			if started, _ := slow.counts(fmt.Sprint("f", i)); started > 0 {
				streaming++
			}
		}
		cnt := c.counts(t)
		return streaming == n && cnt[jobstore.StatusActive] == n, fmt.Sprintf("%d sources streaming; jobs %s", streaming, fmtCounts(cnt))
	})
	time.Sleep(500 * time.Millisecond) // well into the uploads, far from their end
	a.signal(t, syscall.SIGTERM)
	sent := time.Now()
	// The bound is generous: the test asserts that the worker exits, not how fast.
	if !a.wait(grace + 20*time.Second) {
		t.Fatalf("worker A still runs %s after SIGTERM with --shutdown-grace %s", time.Since(sent).Round(time.Millisecond), grace)
	}
	t.Logf("worker A exited %s after SIGTERM (grace %s): %v", time.Since(sent).Round(time.Millisecond), grace, a.err)
	if a.err != nil {
		t.Errorf("worker A exited with %v, want status 0", a.err)
	}

	recs := c.records(t, jobs)
	tally := map[jobstore.Status]int64{}
	for _, j := range recs {
		tally[j.Status]++
		if j.Status != jobstore.StatusQueued && j.Status != jobstore.StatusActive {
			t.Errorf("after the shutdown job %s is %s, want queued (or active)", j.ID, j.Status)
		}
	}
	info, err := c.inspector.GetQueueInfo(tasks.QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("after the shutdown: jobs %s; asynq tasks pending=%d active=%d retry=%d", fmtCounts(tally), info.Pending, info.Active, info.Retry)
	if info.Pending != n || info.Active != 0 {
		t.Errorf("asynq holds %d pending and %d active tasks, want %d pending: every task back in the queue", info.Pending, info.Active, n)
	}
	for i := range n {
		if _, full := slow.counts(fmt.Sprint("f", i)); full > 0 {
			t.Errorf("source f%d was streamed in full before the shutdown: the test's uploads are too short", i)
		}
	}
	if st := emu.stats(t); st.Uploads != 0 {
		t.Errorf("the emulator stored %d uploads before the second worker started, want 0", st.Uploads)
	}

	startWorker(t, "worker B", redisURL(srv.Addr), emu, "--concurrency", "10")
	c.waitAllCompleted(t, n, 2*time.Minute)
	recs = c.records(t, jobs)
	for _, j := range recs {
		if j.Attempts != 1 {
			t.Errorf("job %s completed on attempt %d, want 1: a push back at shutdown uses no attempt", j.ID, j.Attempts)
		}
	}
	assertOneFilePerJob(t, emu, recs)
	if st := emu.stats(t); st.Uploads != n {
		t.Errorf("the emulator stored %d uploads for %d jobs", st.Uploads, n)
	}
}
