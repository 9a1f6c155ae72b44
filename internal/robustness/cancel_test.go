package robustness

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/internal/restapi"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// TestCancelHolds cancels jobs in each state a task can be in — scheduled (queued
// with a future runAt), waiting for a retry, and running — and checks that none of
// them reaches ImageKit afterwards, well past the time each would have run. Then it
// retries the jobs canceled while running: once after the cancel has settled, and
// at once, while the worker may still hold the canceled task. Each retried job
// completes exactly once.
func TestCancelHolds(t *testing.T) {
	long(t)
	const retryBase = 6 * time.Second // first retry after 3-6 s: time to cancel a retrying job
	srv := redistest.NewServer(t)
	c := newClient(t, srv.Addr)
	emu := startEmulator(t)
	slow := newSlowServer(t, 2<<20, 6*time.Second)
	small := pngServer(t, 1)
	w := startWorker(t, "worker", redisURL(srv.Addr), emu, "--concurrency", "8", "--retry-base", retryBase.String())

	enqueue := func(u tasks.Upload) *jobstore.Job {
		t.Helper()
		j, err := c.Enqueue(t.Context(), u)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	status := func(id string) *jobstore.Job {
		t.Helper()
		j, err := c.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return j
	}
	cancel := func(id string) {
		t.Helper()
		if _, err := c.Cancel(t.Context(), id); err != nil {
			t.Fatalf("cancel %s: %v", id, err)
		}
	}

	// Retrying: the emulator answers its first upload 500; the job waits for its
	// retry and is canceled then.
	emu.script(t, 500, 1)
	retrying := enqueue(tasks.Upload{File: small[0], FileName: "retrying.png"})
	var retryAt time.Time
	waitFor(t, 30*time.Second, 10*time.Millisecond, "the job to wait for a retry", func() (bool, string) {
		j := status(retrying.ID)
		if j.NextAttemptAt != nil {
			retryAt = *j.NextAttemptAt
		}
		return j.Status == jobstore.StatusRetrying, string(j.Status)
	})
	cancel(retrying.ID)

	// Scheduled: queued with a runAt a few seconds ahead.
	runAt := time.Now().Add(3 * time.Second)
	scheduled := enqueue(tasks.Upload{File: small[0], FileName: "scheduled.png", RunAt: &runAt})
	cancel(scheduled.ID)

	// Running: uploads that stream for seconds, canceled while they stream.
	var running []*jobstore.Job
	for i := range 5 {
		running = append(running, enqueue(tasks.Upload{File: slow.url(fmt.Sprint("r", i)), FileName: fmt.Sprintf("running-%d.png", i)}))
	}
	// The last one has a single attempt: asynq archives its task when the cancel
	// interrupts it, rather than scheduling a retry that would run the job anyway.
	frozen := enqueue(tasks.Upload{File: slow.url("r5"), FileName: "running-5.png", MaxAttempts: 1})
	running = append(running, frozen)
	waitFor(t, 30*time.Second, 10*time.Millisecond, "the slow uploads to stream", func() (bool, string) {
		n := 0
		for i, j := range running {
			if started, _ := slow.counts(fmt.Sprint("r", i)); started > 0 && status(j.ID).Status == jobstore.StatusActive {
				n++
			}
		}
		return n == len(running), fmt.Sprintf("%d of %d streaming", n, len(running))
	})
	time.Sleep(time.Second)
	// running[0] is canceled and retried later; the others are retried at once, while
	// the worker may still be stopping their upload.
	cancel(running[0].ID)
	retriedAtOnce := map[string]time.Duration{}
	for _, j := range running[1:5] {
		cancel(j.ID)
		start := time.Now()
		for {
			_, err := c.Retry(t.Context(), j.ID)
			if err == nil {
				break
			}
			if !errors.Is(err, producer.ErrStillStopping) || time.Since(start) > 30*time.Second {
				t.Fatalf("retry %s right after its cancel: %v", j.ID, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		retriedAtOnce[j.ID] = time.Since(start)
	}
	t.Logf("retries right after the cancel were accepted after %v", retriedAtOnce)

	// A worker that holds the task but is slow to act on the cancel (stopped here
	// with SIGSTOP for a second: a GC pause, a starved CPU): the retry must not
	// leave the job queued with no task to run it, nor let the interrupted run's
	// end fail it.
	// Through the REST API, whose producer waits only half a second for the worker
	// to let go, the retry is answered 409 still-stopping and changes nothing.
	api, err := producer.New(producer.Config{Redis: c.rdb, StopWait: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	apiSrv := httptest.NewServer(restapi.New(api, restapi.Options{}))
	t.Cleanup(apiSrv.Close)
	w.signal(t, syscall.SIGSTOP)
	cont := time.AfterFunc(2*time.Second, func() { _ = w.cmd.Process.Signal(syscall.SIGCONT) })
	t.Cleanup(func() { cont.Stop(); _ = w.cmd.Process.Signal(syscall.SIGCONT) })
	cancel(frozen.ID)
	code, retryAfter, err := postJSON(t.Context(), apiSrv.URL+"/v1/uploads/"+frozen.ID+"/retry", "")
	if err != nil {
		t.Fatal(err)
	}
	if code != http.StatusConflict || retryAfter == "" {
		t.Errorf("POST retry while the canceled run's worker is stopped: %d (Retry-After %q), want 409 with Retry-After", code, retryAfter)
	}
	if got := status(frozen.ID); got.Status != jobstore.StatusCanceled {
		t.Errorf("after the refused retry the job is %s, want canceled", got.Status)
	}
	start := time.Now()
	for {
		_, err := c.Retry(t.Context(), frozen.ID)
		if err == nil {
			break
		}
		if !errors.Is(err, producer.ErrStillStopping) || time.Since(start) > 30*time.Second {
			t.Fatalf("retry %s while its worker is stopped: %v", frozen.ID, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the retry while the worker was stopped was accepted after %s", time.Since(start).Round(time.Millisecond))

	// Past the time each canceled job would have run: runAt, the retry, and asynq's
	// retry of the interrupted task (the worker's retry base).
	quiet := time.Until(retryAt)
	quiet = max(quiet, time.Until(runAt), retryBase) + 3*time.Second
	time.Sleep(quiet)
	canceled := []*jobstore.Job{retrying, scheduled, running[0]}
	for _, j := range canceled {
		if got := status(j.ID); got.Status != jobstore.StatusCanceled {
			t.Errorf("job %s (%s) is %s after its cancel, want canceled", j.ID, requestName(t, got), got.Status)
		}
	}
	if _, full := slow.counts("r0"); full > 0 {
		t.Errorf("the canceled upload's source was streamed to its end")
	}
	byName := map[string]int{}
	for _, f := range emu.files(t) {
		byName[f.Name]++
	}
	for _, j := range canceled {
		if name := expectedName(j, requestName(t, j)); byName[name] > 0 {
			t.Errorf("job %s was canceled, yet ImageKit holds its file %s", j.ID, name)
		}
	}

	// Retry the job canceled while running, once its cancel has settled.
	if _, err := c.Retry(t.Context(), running[0].ID); err != nil {
		t.Fatalf("retry %s: %v", running[0].ID, err)
	}
	waitFor(t, 2*time.Minute, 100*time.Millisecond, "the retried jobs to complete", func() (bool, string) {
		var states []string
		done := 0
		for _, j := range running {
			got := status(j.ID)
			if got.Status == jobstore.StatusCompleted {
				done++
			}
			states = append(states, string(got.Status))
		}
		return done == len(running), fmt.Sprint(states)
	})
	recs := c.records(t, running)
	for i, j := range recs {
		if name := resultName(t, j); name != expectedName(j, fmt.Sprintf("running-%d.png", i)) {
			t.Errorf("job %s stored as %s", j.ID, name)
		}
	}
	files := emu.files(t)
	if len(files) != len(running) {
		t.Errorf("the emulator holds %d files, want one per retried job (%d)", len(files), len(running))
	}
	assertOneFilePerJob(t, emu, recs)
	st := emu.stats(t)
	t.Logf("emulator: %d uploads stored, %d rejected, faults %v", st.Uploads, st.Rejected, st.Faults)
	if st.Uploads != int64(len(running)) {
		t.Errorf("the emulator stored %d uploads, want %d: one per retried job, none for the canceled ones", st.Uploads, len(running))
	}
	for _, f := range files {
		if f.VersionInfo.Name != "" && f.VersionInfo.Name != "Version 1" {
			t.Errorf("file %s has %s: uploaded more than once", f.Name, f.VersionInfo.Name)
		}
	}
}

// requestName is the fileName a job asked for.
func requestName(t *testing.T, j *jobstore.Job) string {
	t.Helper()
	var u tasks.Upload
	if err := json.Unmarshal(j.Request, &u); err != nil {
		t.Fatalf("job %s: request: %v", j.ID, err)
	}
	return u.FileName
}
