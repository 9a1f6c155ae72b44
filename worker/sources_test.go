package worker_test

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

// A source that sends half its body and then nothing fails the attempt after
// Sources.IdleTimeout, as a transient source_timeout, instead of holding the
// worker's slot until the task's timeout. The worker is built by New, as `ikq
// worker` builds it.
func TestTarpitSourceFailsTheAttempt(t *testing.T) {
	t.Parallel()
	s := newStack(t, withoutWorker())
	s.StartWorker(worker.Config{
		Concurrency: 2, PollInterval: 100 * time.Millisecond,
		Sources: worker.SourceConfig{IdleTimeout: 300 * time.Millisecond, FetchAllow: e2e.LoopbackAllow},
	})
	srv := ikqtest.NewSlowSource(t, ikqtest.PNG(t, 5, 64, 64))
	job := s.Enqueue(tasks.Upload{File: srv.URL + "/tarpit.png?sig=secret", FileName: "tarpit.png", MaxAttempts: 1})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusFailed, jobstore.StatusCompleted)
	if job.Status != jobstore.StatusFailed || job.Error == nil || job.Error.Code != "source_timeout" || !job.Error.Retryable {
		t.Fatalf("want failed with a retryable source_timeout; record:\n%s", e2e.RecordText(job))
	}
	if msg := job.Error.Message; !strings.Contains(msg, "no data for 300ms") || strings.Contains(msg, "secret") {
		t.Errorf("error message %q", msg)
	}
}

// One slow host holds at most its share of the slots: with 4 slots and a host
// limit of 2, two jobs of a tarpit host hold two slots, the others go back to
// the queue without spending an attempt, and jobs of another host run
// meanwhile. Once the tarpit lets go, every job completes on its first attempt.
func TestSlowHostTakesOnlyItsShareOfSlots(t *testing.T) {
	t.Parallel()
	s := newStack(t,
		withWorker(func(c *worker.Config) { c.Concurrency = 4 }),
		withSource(func(c *source.Config) {
			c.HostLimit, c.HostWait = 2, 50*time.Millisecond
			c.IdleTimeout = -1 // the tarpit holds until released
		}))
	tarpit := ikqtest.NewSlowSource(t, ikqtest.PNG(t, 6, 64, 64))
	var slow []*jobstore.Job
	for i := range 4 {
		slow = append(slow, s.Enqueue(tasks.Upload{File: tarpit.URL + "/slow.png", FileName: "slow" + string(rune('a'+i)) + ".png"}))
	}
	tarpit.WaitStarted(t)
	tarpit.WaitStarted(t)
	// The other two go back to the queue, their slots free.
	busy := func() (n int, text string) {
		return s.countJobs(slow, func(got *jobstore.Job) bool {
			if got.Status == jobstore.StatusCompleted {
				t.Fatalf("a tarpit job completed before the tarpit let go: %s", e2e.RecordText(got))
			}
			return got.Error != nil && got.Error.Code == "source_host_busy"
		})
	}
	ikqtest.Eventually(t, func() string { _, text := busy(); return text }, func() bool { n, _ := busy(); return n >= 2 })

	// Another host: the same kind of server under another name.
	other := ikqtest.NewSourceServer(t, ikqtest.PNG(t, 7, 16, 16), nil)
	otherURL := strings.Replace(other.URL, "127.0.0.1", "localhost", 1)
	var fast []*jobstore.Job
	for i := range 3 {
		fast = append(fast, s.Enqueue(tasks.Upload{File: otherURL + "/fast.png", FileName: "fast" + string(rune('a'+i)) + ".png"}))
	}
	for _, j := range fast {
		if got := waitFor(t, s.Producer, j.ID, jobstore.StatusCompleted, jobstore.StatusFailed); got.Status != jobstore.StatusCompleted {
			t.Fatalf("a job of another host: %s", e2e.RecordText(got))
		}
	}
	if n, text := busy(); n < 2 {
		t.Errorf("%d tarpit jobs waiting as source_host_busy, want 2:\n%s", n, text)
	}

	tarpit.Release()
	for _, j := range slow {
		got := waitFor(t, s.Producer, j.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
		if got.Status != jobstore.StatusCompleted || got.Attempts != 1 {
			t.Errorf("want completed on attempt 1 (waiting for the host spends none); record:\n%s", e2e.RecordText(got))
		}
	}
}

// The record of a job whose allowed source host refused the connection says so,
// without the address the host resolved to.
func TestRecordedErrorHidesResolvedAddress(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close() // nothing listens there now
	job := s.Enqueue(tasks.Upload{File: "http://localhost:" + port + "/a.png", FileName: "a.png", MaxAttempts: 1})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusFailed, jobstore.StatusCompleted)
	if job.Status != jobstore.StatusFailed || job.Error == nil {
		t.Fatalf("want failed; record:\n%s", e2e.RecordText(job))
	}
	text := e2e.RecordText(job)
	t.Logf("recorded: %s", job.Error.Message)
	if !strings.Contains(job.Error.Message, "connection refused") || !strings.Contains(job.Error.Message, "localhost:"+port) {
		t.Errorf("error message %q does not name the failure and the source", job.Error.Message)
	}
	for _, addr := range []string{"127.0.0.1", "[::1]", "::1:"} {
		if strings.Contains(text, addr) {
			t.Errorf("the record holds the resolved address %s:\n%s", addr, text)
		}
	}
}
