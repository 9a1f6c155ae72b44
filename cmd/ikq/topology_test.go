package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// TestPipelineOnTopologies runs the pipeline as it is deployed at scale: `ikq api`
// and two `ikq worker`s on a Redis Cluster (three masters, a replica each) and on a
// Sentinel group (a master, a replica, three Sentinels), given only the REDIS_URL.
// Jobs posted one by one and in a batch all complete, one file each; listing pages
// through them; a scheduled job is canceled and never uploaded; a failed job is
// retried and completes; an idempotency key gives one job; the dashboard and the
// metrics answer.
func TestPipelineOnTopologies(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		url  func(t *testing.T) string
	}{
		{"cluster", func(t *testing.T) string { return redistest.NewCluster(t, redistest.ClusterOptions{}).URL() }},
		{"sentinel", func(t *testing.T) string { return redistest.NewSentinel(t, redistest.SentinelOptions{}).URL() }},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			pipelineOn(t, c.url(t))
		})
	}
}

func pipelineOn(t *testing.T, redisURL string) {
	emu := startEmulator(t)
	const key = "private_test" // the emulator's default
	api := startAPIServer(t, "--redis-url", redisURL)
	for range 2 {
		startWorker(t, "--redis-url", redisURL, "--imagekit-private-key", key, "--metrics-listen=",
			"--imagekit-upload-url", emu+"/api/v1/files/upload", "--imagekit-api-url", emu, "--retry-base", "1s")
	}
	sample := emu + "/_emulator/sample.jpg"
	job := func(name string, extra string) string {
		return fmt.Sprintf(`{"file": %q, "fileName": %q, "folder": "/topo"%s}`, sample, name, extra)
	}
	if code, body := apiCall(t, http.MethodGet, api+"/readyz", ""); code != http.StatusOK {
		t.Fatalf("GET /readyz: %d %s", code, body)
	}

	// Jobs one by one, then a batch.
	var ids []string
	for i := range 10 {
		var j tasks.Job
		apiJSON(t, http.MethodPost, api+"/v1/uploads", job(fmt.Sprintf("one-%02d.jpg", i), ""), http.StatusAccepted, &j)
		ids = append(ids, j.ID)
	}
	batch := make([]string, 20)
	for i := range batch {
		batch[i] = job(fmt.Sprintf("batch-%02d.jpg", i), "")
	}
	var res struct {
		Results []struct {
			ID    string          `json:"id"`
			Error json.RawMessage `json:"error"`
		} `json:"results"`
	}
	apiJSON(t, http.MethodPost, api+"/v1/uploads/batch", "["+strings.Join(batch, ",")+"]", http.StatusOK, &res)
	for i, r := range res.Results {
		if r.ID == "" {
			t.Fatalf("batch job %d: %s", i, r.Error)
		}
		ids = append(ids, r.ID)
	}
	if len(ids) != 30 {
		t.Fatalf("%d jobs accepted, want 30", len(ids))
	}

	// The same idempotency key twice: one job.
	var first, again tasks.Job
	apiJSON(t, http.MethodPost, api+"/v1/uploads", job("idem.jpg", `, "idempotencyKey": "order-1"`), http.StatusAccepted, &first)
	apiJSON(t, http.MethodPost, api+"/v1/uploads", job("idem.jpg", `, "idempotencyKey": "order-1"`), http.StatusOK, &again)
	if again.ID != first.ID {
		t.Errorf("the idempotency key gave jobs %s and %s", first.ID, again.ID)
	}
	ids = append(ids, first.ID)

	for _, id := range ids {
		waitJob(t, api, id, tasks.StatusCompleted)
	}

	// Listing pages through every completed job, each once.
	var listed []string
	cursor := ""
	for range 100 {
		var page struct {
			Uploads    []tasks.Job `json:"uploads"`
			NextCursor string      `json:"nextCursor"`
		}
		apiJSON(t, http.MethodGet, api+"/v1/uploads?status=completed&limit=7&cursor="+cursor, "", http.StatusOK, &page)
		for _, j := range page.Uploads {
			listed = append(listed, j.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	slices.Sort(listed)
	want := slices.Sorted(slices.Values(ids))
	if !slices.Equal(listed, want) {
		t.Errorf("listing completed jobs gave %d ids, want the %d completed:\n%v\n%v", len(listed), len(want), listed, want)
	}

	// A scheduled job, canceled: never uploaded.
	var later tasks.Job
	runAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	apiJSON(t, http.MethodPost, api+"/v1/uploads", job("later.jpg", `, "runAt": "`+runAt+`"`), http.StatusAccepted, &later)
	var canceled tasks.Job
	apiJSON(t, http.MethodPost, api+"/v1/uploads/"+later.ID+"/cancel", "", http.StatusOK, &canceled)
	if canceled.Status != tasks.StatusCanceled {
		t.Errorf("cancel answered status %s", canceled.Status)
	}

	// A job the Upload API refuses fails; retried, it completes.
	emulatorAPI(t, http.MethodPost, emu+"/_emulator/faults", map[string]any{"status": 400, "count": 1}, nil)
	var refused tasks.Job
	apiJSON(t, http.MethodPost, api+"/v1/uploads", job("refused.jpg", ""), http.StatusAccepted, &refused)
	if j := waitJob(t, api, refused.ID, tasks.StatusFailed); j.Error == nil || j.Error.HTTPStatus != http.StatusBadRequest {
		t.Errorf("the refused job's error is %+v, want the Upload API's 400", j.Error)
	}
	apiJSON(t, http.MethodPost, api+"/v1/uploads/"+refused.ID+"/retry", "", http.StatusAccepted, nil)
	waitJob(t, api, refused.ID, tasks.StatusCompleted)
	ids = append(ids, refused.ID)

	// One file per completed job; none for the canceled one.
	files := emulatorFilesRaw(t, emu, "/topo")
	if len(files) != len(ids) {
		t.Errorf("the emulator holds %d files for %d completed jobs", len(files), len(ids))
	}
	for _, f := range files {
		if strings.Contains(f.FilePath, "later") {
			t.Errorf("the canceled job was uploaded: %s", f.FilePath)
		}
	}
	if j := getJob(t, api, later.ID); j.Status != tasks.StatusCanceled {
		t.Errorf("the canceled job is %s", j.Status)
	}

	for _, path := range []string{"/metrics", "/monitoring/api/queues"} {
		if code, body := apiCall(t, http.MethodGet, api+path, ""); code != http.StatusOK {
			t.Errorf("GET %s: %d %.300s", path, code, body)
		}
	}
	s := ikq(t, "status", "--redis-url", redisURL, first.ID)
	if s.code != 0 || s.job(t).ID != first.ID {
		t.Errorf("ikq status: exit %d\nstdout: %s\nstderr: %s", s.code, s.stdout, s.stderr)
	}
}

// startAPIServer runs `ikq api` on a free loopback port until the test ends, then
// stops it as SIGTERM would and checks that it exits 0. It returns the API's URL.
func startAPIServer(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &ikqtest.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, append([]string{"api", "--listen", "127.0.0.1:0"}, args...), io.Discard, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("ikq api exited %d after its context ended, want 0:\n%s", code, stderr.String())
			}
		case <-time.After(time.Minute):
			t.Errorf("ikq api still running a minute after its context ended:\n%s", stderr.String())
		}
	})
	addr := regexp.MustCompile(`ikq api on (http://127\.0\.0\.1:\d+)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("ikq api exited %d at start:\n%s", code, stderr.String())
		default:
		}
		if m := addr.FindStringSubmatch(stderr.String()); m != nil {
			return m[1]
		}
	}
	t.Fatalf("ikq api printed no address within 30s:\n%s", stderr.String())
	return ""
}

// apiCall sends a request to the API and returns the status and body.
func apiCall(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	return resp.StatusCode, b
}

// apiJSON sends a request, expects status and decodes the answer into out (if not nil).
func apiJSON(t *testing.T, method, url, body string, status int, out any) {
	t.Helper()
	code, b := apiCall(t, method, url, body)
	if code != status {
		t.Fatalf("%s %s: %d %s, want %d", method, url, code, b, status)
	}
	if out != nil {
		if err := json.NewDecoder(bytes.NewReader(b)).Decode(out); err != nil {
			t.Fatalf("%s %s: decoding %.300s: %v", method, url, b, err)
		}
	}
}

func getJob(t *testing.T, api, id string) tasks.Job {
	t.Helper()
	var j tasks.Job
	apiJSON(t, http.MethodGet, api+"/v1/uploads/"+id, "", http.StatusOK, &j)
	return j
}

// waitJob polls the job through the API until it is in status; a job that ends in
// another final status, or does not get there in time, fails the test.
func waitJob(t *testing.T, api, id string, status tasks.Status) tasks.Job {
	t.Helper()
	var j tasks.Job
	ikqtest.EventuallyWithin(t, time.Minute, 50*time.Millisecond, func() string {
		return fmt.Sprintf("job %s is %s, want %s; error %+v", id, j.Status, status, j.Error)
	}, func() bool {
		j = getJob(t, api, id)
		if j.Status != status && j.Status.Final() {
			t.Fatalf("job %s ended %s, want %s; error %+v", id, j.Status, status, j.Error)
		}
		return j.Status == status
	})
	return j
}
