package robustness

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redisproc"
)

// TestRedisOutage stops Redis for ten seconds in the middle of a run of 300 jobs,
// with a worker and `ikq api` running. While Redis is away the API answers 503 (to
// readiness probes and to new jobs alike); once it is back, the API is ready again
// and the worker carries on by itself, and every job completes with one file.
//
// The outage stays under asynq's 30-second lease, which the worker cannot renew
// while Redis is away. IKQ_OUTAGE sets another length (e.g. IKQ_OUTAGE=45s): past
// the lease, the worker abandons the tasks it held, and asynq's recoverer hands them
// out again a minute or two after Redis returns (see doc.go).
func TestRedisOutage(t *testing.T) {
	long(t)
	const n = 300
	outage := 10 * time.Second
	if v := os.Getenv("IKQ_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatalf("IKQ_OUTAGE: %v", err)
		}
		outage = d
	}
	r := newDurableRedis(t)
	c := newClient(t, r.Addr)
	emu := startEmulator(t, "--latency", "400ms", "--latency-jitter", "400ms")
	urls := pngServer(t, n+1)
	jobs := c.enqueue(t, urls[:n])

	apiAddr := ikqtest.FreeAddr(t)
	api := startIkq(t, "api", []string{"REDIS_URL=" + redisURL(r.Addr), "IKQ_LISTEN=" + apiAddr, "IKQ_LOG_FORMAT=json"}, "api")
	apiURL := "http://" + apiAddr
	waitHTTP(t, api, apiURL+"/readyz")
	w := startWorker(t, "worker", redisURL(r.Addr), emu, "--concurrency", "8", "--retry-base", "1s")

	waitFor(t, 2*time.Minute, 50*time.Millisecond, "a third of the jobs to complete", func() (bool, string) {
		cnt := c.counts(t)
		return cnt[jobstore.StatusCompleted] >= n/3, fmtCounts(cnt)
	})
	before := c.counts(t)
	held, _, err := c.List(t.Context(), jobstore.ListOptions{Status: jobstore.StatusActive, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	r.stop(t)
	stopped := time.Now()
	t.Logf("Redis stopped for %s; jobs then: %s", outage, fmtCounts(before))
	if len(held) == 0 {
		t.Logf("no job was active when Redis stopped: this run does not exercise the tasks held through the outage")
	}

	// While Redis is away: every answer is a 503 with Retry-After, never a 500.
	job := fmt.Sprintf(`{"file": %q, "fileName": %q}`, urls[n], fileName(n))
	answers := map[string]int{}
	took := map[string]time.Duration{} // the slowest answer of each
	for time.Since(stopped) < outage {
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		sent := time.Now()
		code, retryAfter, err := get(ctx, apiURL+"/readyz")
		took["readyz"] = max(took["readyz"], time.Since(sent))
		switch {
		case err != nil:
			t.Errorf("GET /readyz while Redis is away: %v", err)
		case code != http.StatusServiceUnavailable || retryAfter == "":
			t.Errorf("GET /readyz while Redis is away: %d (Retry-After %q), want 503 with Retry-After", code, retryAfter)
		}
		answers[fmt.Sprint("readyz ", code)]++
		sent = time.Now()
		code, retryAfter, err = postJSON(ctx, apiURL+"/v1/uploads", job)
		took["POST"] = max(took["POST"], time.Since(sent))
		switch {
		case err != nil:
			t.Errorf("POST /v1/uploads while Redis is away: %v", err)
		case code != http.StatusServiceUnavailable || retryAfter == "":
			t.Errorf("POST /v1/uploads while Redis is away: %d (Retry-After %q), want 503 with Retry-After", code, retryAfter)
		}
		answers[fmt.Sprint("POST ", code)]++
		cancel()
		time.Sleep(500 * time.Millisecond)
	}
	if w.exited() {
		t.Fatalf("the worker exited while Redis was away: %v", w.err)
	}
	r.start(t)
	restarted := time.Now()
	waitHTTP(t, api, apiURL+"/readyz")
	t.Logf("Redis back after %s; answers while it was away: %v, the slowest in %v; /readyz 200 again %s after the restart",
		restarted.Sub(stopped).Round(100*time.Millisecond), answers, took, time.Since(restarted).Round(time.Millisecond))

	// The tasks the worker held when Redis went away are handed back by the worker
	// itself once Redis is back (asynq counts a retry), not left active for asynq's
	// recoverer, whose turn comes 45 s or more after the restart. A task may also be
	// done and gone, or its job completed (its outcome written before the outage).
	if outage < 25*time.Second {
		waitFor(t, 20*time.Second, 200*time.Millisecond, "the worker to hand back the tasks it held", func() (bool, string) {
			var still []string
			for _, j := range held {
				info, err := c.inspector.GetTaskInfo(j.Queue, j.ID)
				if err != nil || info.Retried > 0 {
					continue
				}
				if got, err := c.Get(t.Context(), j.ID); err == nil && got.Status == jobstore.StatusCompleted {
					continue
				}
				still = append(still, fmt.Sprintf("%s (%s)", j.ID, info.State))
			}
			return len(still) == 0, fmt.Sprintf("%d of %d tasks held when Redis stopped are still unrecorded: %v", len(still), len(held), still)
		})
	}

	// The API takes jobs again, and the same worker runs them: no restart.
	code, body := postJob(t, apiURL+"/v1/uploads", job)
	if code != http.StatusAccepted {
		t.Fatalf("POST /v1/uploads after the outage: %d %s", code, body)
	}
	var after jobstore.Job
	if err := json.Unmarshal(body, &after); err != nil {
		t.Fatal(err)
	}
	jobs = append(jobs, &after)

	wait := 3 * time.Minute
	if outage > 25*time.Second {
		wait = 6 * time.Minute // the recoverer's turn: see doc.go
	}
	c.waitAllCompleted(t, n+1, wait)
	t.Logf("all %d jobs completed %s after Redis came back", n+1, time.Since(restarted).Round(time.Second))
	if w.exited() {
		t.Errorf("the worker exited: %v", w.err)
	}
	cnt := c.counts(t)
	if left := cnt[jobstore.StatusQueued] + cnt[jobstore.StatusActive] + cnt[jobstore.StatusRetrying] + cnt[jobstore.StatusUploaded]; left != 0 {
		t.Errorf("jobs left unfinished: %s", fmtCounts(cnt))
	}
	c.queueEmpty(t)

	recs := c.records(t, jobs)
	reran := 0
	for i, j := range recs {
		if name := resultName(t, j); name != expectedName(j, fileName(i)) {
			t.Errorf("job %s stored as %s", j.ID, name)
		}
		if j.Attempts > 1 {
			reran++
		}
	}
	rerun := assertOneFilePerJob(t, emu, recs)
	st := emu.stats(t)
	t.Logf("%d files for %d jobs; %d uploads in all; %d jobs took more than one attempt; %d files have a second version",
		len(recs), len(recs), st.Uploads, reran, rerun)
}

// get GETs u and returns the status and Retry-After header.
func get(ctx context.Context, u string) (status int, retryAfter string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// postJob posts a job and returns the status and body.
func postJob(t *testing.T, u, job string) (int, []byte) {
	t.Helper()
	resp, err := http.Post(u, "application/json", strings.NewReader(job))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// durableRedis is a private redis-server that keeps its data across stop and start,
// on the same port: an append-only file, flushed when the server is stopped with
// SIGTERM. (redistest.Server restarts empty: a run could not survive it.)
type durableRedis struct {
	Addr     string
	opts     redisproc.Options
	proc     *redisproc.Process // nil while stopped
	reserved io.Closer
}

func newDurableRedis(t *testing.T) *durableRedis {
	t.Helper()
	path, err := redisproc.LookPath()
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	r := &durableRedis{opts: redisproc.Options{Path: path, Dir: t.TempDir(), Args: []string{"--appendonly", "yes"}}}
	if r.proc, err = redisproc.Start(r.opts); err != nil {
		t.Fatal(err)
	}
	r.Addr, r.opts.Port = r.proc.Addr(), r.proc.Port()
	t.Cleanup(func() {
		if r.proc != nil {
			r.proc.Stop()
		}
		if r.reserved != nil {
			_ = r.reserved.Close()
		}
	})
	return r
}

// stop stops the server (SIGTERM: it writes its data out) and holds its port, so
// that clients are refused rather than reach another server.
func (r *durableRedis) stop(t *testing.T) {
	t.Helper()
	r.proc.Stop()
	r.proc = nil
	res, err := redisproc.ReservePort(r.opts.Port)
	if err != nil {
		t.Logf("could not hold port %d while Redis is stopped: %v", r.opts.Port, err)
		return
	}
	r.reserved = res
}

// start starts the server again on its port, with its data.
func (r *durableRedis) start(t *testing.T) {
	t.Helper()
	if r.reserved != nil {
		_ = r.reserved.Close()
		r.reserved = nil
	}
	p, err := redisproc.Start(r.opts)
	if err != nil {
		t.Fatalf("restarting Redis on port %d: %v", r.opts.Port, err)
	}
	r.proc = p
}
