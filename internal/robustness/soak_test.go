package robustness

import (
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestFaultSoak runs 2000 jobs through one worker while the emulator answers 10% of
// uploads with a 5xx and 5% with a 429 (reset after 1 s), after 0-40 ms, with a fixed
// seed. Every job completes within its attempts, with one file. It prints how many
// attempts the jobs took and how often they waited out a 429: a 429 makes the job
// wait, not use an attempt.
func TestFaultSoak(t *testing.T) {
	long(t)
	const n = 2000
	srv := redistest.NewServer(t)
	c := newClient(t, srv.Addr)
	emu := startEmulator(t, "--error-rate", "0.10", "--rate-limit-rate", "0.05", "--rate-limit-reset", "1s",
		"--latency", "0s", "--latency-jitter", "40ms", "--seed", "20240601")
	urls := pngServer(t, n)
	jobs := c.enqueue(t, urls)

	start := time.Now()
	startWorker(t, "worker", redisURL(srv.Addr), emu, "--concurrency", "32", "--retry-base", "1s")
	c.waitAllCompleted(t, n, 10*time.Minute)
	took := time.Since(start)

	recs := c.records(t, jobs)
	attempts := map[int]int{} // attempts → jobs
	throttledJobs, throttledWaits, maxAttempts := 0, 0, 0
	for i, j := range recs {
		if j.Status != jobstore.StatusCompleted {
			t.Errorf("job %s is %s", j.ID, j.Status)
		}
		if j.Attempts < 1 || j.Attempts > j.MaxAttempts {
			t.Errorf("job %s took %d attempts of %d", j.ID, j.Attempts, j.MaxAttempts)
		}
		if name := resultName(t, j); name != expectedName(j, fileName(i)) {
			t.Errorf("job %s stored as %s", j.ID, name)
		}
		attempts[j.Attempts]++
		maxAttempts = max(maxAttempts, j.MaxAttempts)
		waits := 0
		for _, e := range j.Events {
			if strings.HasPrefix(e.Message, "throttled by ImageKit") {
				waits++
			}
		}
		if waits > 0 {
			throttledJobs++
			throttledWaits += waits
		}
	}
	rerun := assertOneFilePerJob(t, emu, recs)
	st := emu.stats(t)

	var b strings.Builder
	fmt.Fprintf(&b, "fault soak: %d jobs through one worker (concurrency 32) in %s (%.0f jobs/s); emulator: 10%% 5xx, 5%% 429, 0-40 ms\n",
		n, took.Round(100*time.Millisecond), float64(n)/took.Seconds())
	fmt.Fprintf(&b, "  attempts (of at most %d) → jobs:", maxAttempts)
	keys := make([]int, 0, len(attempts))
	for k := range attempts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %d→%d", k, attempts[k])
	}
	fmt.Fprintf(&b, "\n  throttled waits (429, no attempt used): %d, in %d jobs\n", throttledWaits, throttledJobs)
	fmt.Fprintf(&b, "  emulator: %d uploads stored, faults answered %v; %d files, %d with a second version\n",
		st.Uploads, st.Faults, len(emu.files(t)), rerun)
	t.Log(b.String())
	fmt.Fprint(os.Stdout, b.String())
}
