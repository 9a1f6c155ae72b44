package robustness

import (
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestCrashRerunsMakeNoDuplicates kills a worker with SIGKILL in the middle of a run
// and lets another finish it. The tasks the dead worker held stay active in asynq
// until their lease (30 s) has been expired for 30 s and the recoverer (every minute)
// hands them out again: some of them had already reached ImageKit, so their re-run
// uploads the same file again. The job id fixes each file's unique name, so a re-run
// overwrites its first upload rather than adding a second asset.
func TestCrashRerunsMakeNoDuplicates(t *testing.T) {
	long(t)
	const n = 240
	srv := redistest.NewServer(t)
	c := newClient(t, srv.Addr)
	emu := startEmulator(t, "--latency", "20ms", "--latency-jitter", "30ms")
	urls := pngServer(t, n)
	jobs := c.enqueue(t, urls)

	a := startWorker(t, "worker A", redisURL(srv.Addr), emu, "--concurrency", "16", "--retry-base", "1s")
	waitFor(t, 2*time.Minute, 5*time.Millisecond, "a third of the jobs to complete", func() (bool, string) {
		cnt := c.counts(t)
		return cnt[jobstore.StatusCompleted] >= n/3, "counts " + fmtCounts(cnt)
	})
	a.kill(t)
	killed := time.Now()
	atKill := c.counts(t)
	st := emu.stats(t)
	t.Logf("worker A killed: jobs %s; the emulator had stored %d uploads", fmtCounts(atKill), st.Uploads)
	if atKill[jobstore.StatusActive] == 0 {
		t.Logf("no job was active when worker A died: this run does not exercise the recoverer")
	}

	startWorker(t, "worker B", redisURL(srv.Addr), emu, "--concurrency", "16", "--retry-base", "1s")
	c.waitAllCompleted(t, n, 3*time.Minute)
	t.Logf("all %d jobs completed %s after the crash", n, time.Since(killed).Round(time.Second))

	recs := c.records(t, jobs)
	maxAttempts := 0
	for i, j := range recs {
		if j.Status != jobstore.StatusCompleted {
			t.Errorf("job %s is %s", j.ID, j.Status)
		}
		if name, want := resultName(t, j), expectedName(j, fileName(i)); name != want {
			t.Errorf("job %s stored as %s, want %s", j.ID, name, want)
		}
		maxAttempts = max(maxAttempts, j.Attempts)
	}
	rerun := assertOneFilePerJob(t, emu, recs)
	st = emu.stats(t)
	// Uploads the dead worker had sent in full still land: the emulator, like
	// ImageKit, finishes a request whose client has gone.
	t.Logf("%d files for %d jobs; %d uploads in all; %d files have a second version (their job re-ran after its upload had landed); most attempts of a job: %d",
		len(recs), n, st.Uploads, rerun, maxAttempts)
}
