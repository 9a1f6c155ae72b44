package robustness

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/childproc"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

// privateKey is the emulator's private key, and so the workers'.
const privateKey = "private_robustness"

var (
	binDir   string // made by TestMain, removed after the tests
	buildMu  sync.Mutex
	builtBin string
	buildErr error
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "ikq-robustness-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// long skips the test unless IKQ_LONG_TESTS=1 (make test-long), and runs it in
// parallel with the other long tests: each has its own Redis, emulator and workers.
func long(t *testing.T) {
	t.Helper()
	if os.Getenv("IKQ_LONG_TESTS") != "1" {
		t.Skip("a long robustness test: run it with IKQ_LONG_TESTS=1 (make test-long)")
	}
	t.Parallel()
}

// ikqBinary builds cmd/ikq once per test binary and returns its path. IKQ_LONG_RACE=1
// builds it with the race detector, so that the workers' races fail the tests too.
func ikqBinary(t *testing.T) string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if builtBin == "" && buildErr == nil {
		bin := filepath.Join(binDir, "ikq")
		args := []string{"build", "-o", bin}
		if os.Getenv("IKQ_LONG_RACE") == "1" {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, "github.com/ikq-dev/ikq/cmd/ikq")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building ikq: %w\n%s", err, out)
		} else {
			builtBin = bin
		}
	}
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// proc is a subprocess of the ikq binary, killed at the test's cleanup if it is still
// running. Its output is kept, and its tail shown when the test fails.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *ikqtest.LockedBuffer
	done chan struct{} // closed when the process has exited
	err  error         // its exit status, set before done is closed
}

// startIkq runs `ikq args...` with env added to a clean environment: none of the
// caller's IKQ_*, IMAGEKIT_* or REDIS_URL leaks in.
func startIkq(t *testing.T, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(ikqBinary(t), args...)
	cmd.Env = ikqEnv(env)
	return startProc(t, name, cmd)
}

// ikqEnv is the caller's environment without IKQ_*, IMAGEKIT_* and REDIS_URL, then env.
func ikqEnv(env []string) []string {
	var out []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "IKQ_") || strings.HasPrefix(k, "IMAGEKIT_") || k == "REDIS_URL" {
			continue
		}
		out = append(out, kv)
	}
	return append(out, env...)
}

// startProc starts cmd as a proc named name.
func startProc(t *testing.T, name string, cmd *exec.Cmd) *proc {
	t.Helper()
	p := &proc{name: name, cmd: cmd, out: &ikqtest.LockedBuffer{}, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := childproc.Start(cmd); err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			_ = cmd.Process.Kill()
			<-p.done
		}
		if t.Failed() {
			t.Logf("--- %s (pid %d) output, last 6 KB:\n%s", name, cmd.Process.Pid, p.out.Tail(6<<10))
		}
		if dir := os.Getenv("IKQ_LONG_LOGS"); dir != "" {
			f := filepath.Join(dir, strings.NewReplacer("/", "-", " ", "-").Replace(t.Name()+"-"+name)+".log")
			if err := os.WriteFile(f, []byte(p.out.String()), 0o644); err != nil {
				t.Logf("keeping %s's output: %v", name, err)
			}
		}
		if strings.Contains(p.out.String(), "WARNING: DATA RACE") {
			t.Errorf("%s: the race detector reported a data race:\n%s", name, p.out.Tail(16<<10))
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// signal sends sig to the process.
func (p *proc) signal(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("%s: signal %v: %v", p.name, sig, err)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	p.signal(t, syscall.SIGKILL)
	<-p.done
}

// wait waits at most d for the process to exit and reports whether it did.
func (p *proc) wait(d time.Duration) bool {
	select {
	case <-p.done:
		return true
	case <-time.After(d):
		return false
	}
}

// waitHTTP polls url until it answers 200.
func waitHTTP(t *testing.T, p *proc, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if p.exited() || time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200 at %s (exited: %v, err: %v)", p.name, url, p.exited(), err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// emulator is an `ikq emulator` subprocess.
type emulator struct {
	*proc
	URL string
}

// startEmulator runs the emulator with extra flags (faults, latency).
func startEmulator(t *testing.T, flags ...string) *emulator {
	t.Helper()
	addr := ikqtest.FreeAddr(t)
	args := append([]string{"emulator", "--listen", addr, "--private-key", privateKey, "--log-level", "warn"}, flags...)
	e := &emulator{proc: startIkq(t, "emulator", nil, args...), URL: "http://" + addr}
	waitHTTP(t, e.proc, e.URL+"/_emulator/health")
	return e
}

// emuStats is part of GET /_emulator/stats.
type emuStats struct {
	Uploads  int64            `json:"uploads"`
	Rejected int64            `json:"rejected"`
	Faults   map[string]int64 `json:"faults"`
	Files    int              `json:"files"`
}

func (e *emulator) stats(t *testing.T) emuStats {
	t.Helper()
	var s emuStats
	e2e.EmulatorDo(t, e.URL, "", http.MethodGet, "/_emulator/stats", "", &s)
	return s
}

// file is one asset of GET /v1/files.
type file struct {
	FileID      string `json:"fileId"`
	Name        string `json:"name"`
	FilePath    string `json:"filePath"`
	VersionInfo struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"versionInfo"`
}

// files lists every asset, a page of 1000 at a time.
func (e *emulator) files(t *testing.T) []file {
	t.Helper()
	var all []file
	for skip := 0; ; skip += 1000 {
		var page []file
		e2e.EmulatorDo(t, e.URL, privateKey, http.MethodGet, fmt.Sprintf("/v1/files?limit=1000&skip=%d", skip), "", &page)
		all = append(all, page...)
		if len(page) < 1000 {
			return all
		}
	}
}

// script makes the emulator's next count uploads answer status.
func (e *emulator) script(t *testing.T, status, count int) {
	t.Helper()
	e2e.EmulatorDo(t, e.URL, "", http.MethodPost, "/_emulator/faults", fmt.Sprintf(`{"status": %d, "count": %d}`, status, count), nil)
}

// workerEnv is the environment of a worker on this Redis and emulator.
func workerEnv(redisURL string, emu *emulator) []string {
	return []string{
		"REDIS_URL=" + redisURL,
		"IMAGEKIT_PRIVATE_KEY=" + privateKey,
		"IMAGEKIT_UPLOAD_URL=" + emu.URL + "/api/v1/files/upload",
		"IKQ_METRICS_LISTEN=",
		"IKQ_FETCH_ALLOW=127.0.0.0/8",
		"IKQ_LOG_FORMAT=json",
		"IKQ_PUBLIC_URL=http://127.0.0.1:9", // no extensions here: nothing calls it
		// Every source here is on one host, 127.0.0.1: the tests are about crashes and
		// outages, not the share of slots one site may hold.
		"IKQ_SOURCE_HOST_SHARE=100%",
	}
}

// startWorker runs `ikq worker` with flags.
func startWorker(t *testing.T, name, redisURL string, emu *emulator, flags ...string) *proc {
	t.Helper()
	return startIkq(t, name, workerEnv(redisURL, emu), append([]string{"worker"}, flags...)...)
}

// client is the test's producer and a view of the queue, on the test's Redis.
type client struct {
	*producer.Client
	rdb       *redis.Client
	inspector *asynq.Inspector
}

func newClient(t *testing.T, addr string) *client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	return &client{Client: p, rdb: rdb, inspector: asynq.NewInspectorFromRedisClient(rdb)}
}

// queueEmpty fails the test when asynq still holds a task of the default queue in
// any state.
func (c *client) queueEmpty(t *testing.T) {
	t.Helper()
	info, err := c.inspector.GetQueueInfo(tasks.QueueDefault)
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending+info.Active+info.Scheduled+info.Retry+info.Archived != 0 {
		t.Errorf("asynq still holds tasks: pending %d, active %d, scheduled %d, retry %d, archived %d",
			info.Pending, info.Active, info.Scheduled, info.Retry, info.Archived)
	}
}

// enqueue queues one job per source URL, named img-NNNN.png.
func (c *client) enqueue(t *testing.T, urls []string) []*jobstore.Job {
	t.Helper()
	jobs := make([]*jobstore.Job, len(urls))
	for i, u := range urls {
		j, err := c.Enqueue(t.Context(), tasks.Upload{File: u, FileName: fileName(i)})
		if err != nil {
			t.Fatalf("enqueue %d: %v", i, err)
		}
		jobs[i] = j
	}
	return jobs
}

// fileName is the file name of the i-th job enqueue makes.
func fileName(i int) string { return fmt.Sprintf("img-%04d.png", i) }

// fmtCounts shows the statuses that have jobs, in the order of a job's life.
func fmtCounts(cnt map[jobstore.Status]int64) string {
	var b strings.Builder
	for _, s := range []jobstore.Status{jobstore.StatusQueued, jobstore.StatusActive, jobstore.StatusRetrying,
		jobstore.StatusUploaded, jobstore.StatusCompleted, jobstore.StatusFailed, jobstore.StatusCanceled} {
		if cnt[s] > 0 {
			fmt.Fprintf(&b, " %s=%d", s, cnt[s])
		}
	}
	if b.Len() == 0 {
		return "none"
	}
	return b.String()[1:]
}

// counts are the numbers of jobs in each status.
func (c *client) counts(t *testing.T) map[jobstore.Status]int64 {
	t.Helper()
	n, err := jobstore.New(c.rdb, jobstore.Options{}).Counts(t.Context())
	if err != nil {
		t.Fatalf("counting jobs: %v", err)
	}
	return n
}

// waitAllCompleted waits at most d until n jobs are completed and none is failed or
// canceled; each second of waiting is logged as a count of each status.
func (c *client) waitAllCompleted(t *testing.T, n int64, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	lastLog := time.Now()
	for {
		cnt := c.counts(t)
		if cnt[jobstore.StatusFailed] > 0 || cnt[jobstore.StatusCanceled] > 0 {
			t.Fatalf("jobs ended badly: %s", fmtCounts(cnt))
		}
		if cnt[jobstore.StatusCompleted] >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after %s, %d of %d jobs are completed: %s", d, cnt[jobstore.StatusCompleted], n, fmtCounts(cnt))
		}
		if time.Since(lastLog) > 10*time.Second {
			t.Logf("waiting: %s", fmtCounts(cnt))
			lastLog = time.Now()
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// records reads every job's record again.
func (c *client) records(t *testing.T, jobs []*jobstore.Job) []*jobstore.Job {
	t.Helper()
	out := make([]*jobstore.Job, len(jobs))
	for i, j := range jobs {
		r, err := c.Get(t.Context(), j.ID)
		if err != nil {
			t.Fatalf("job %s: %v", j.ID, err)
		}
		out[i] = r
	}
	return out
}

// resultName is the name ImageKit stored a completed job's file under.
func resultName(t *testing.T, j *jobstore.Job) string {
	t.Helper()
	var r struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(j.Result, &r); err != nil || r.Name == "" {
		t.Fatalf("job %s (%s) has no result name: %s", j.ID, j.Status, j.Result)
	}
	return r.Name
}

// expectedName is the name the worker uploads a job's file under: its unique suffix
// comes from the job id, so every run of the job lands on the same path.
func expectedName(j *jobstore.Job, fileName string) string {
	return worker.UniqueName(tasks.CleanFileName(fileName), j.ID)
}

// assertOneFilePerJob checks that the emulator holds exactly one file for each job,
// under the name its record reports, and no other file. It returns how many of those
// files have more than one version (re-runs that overwrote their first upload).
func assertOneFilePerJob(t *testing.T, emu *emulator, jobs []*jobstore.Job) (rerun int) {
	t.Helper()
	files := emu.files(t)
	byName := map[string][]file{}
	for _, f := range files {
		byName[f.Name] = append(byName[f.Name], f)
		if f.VersionInfo.Name != "" && f.VersionInfo.Name != "Version 1" {
			rerun++
		}
	}
	for _, j := range jobs {
		name := resultName(t, j)
		if n := len(byName[name]); n != 1 {
			t.Errorf("job %s: %d files named %s, want 1", j.ID, n, name)
		}
	}
	if len(files) != len(jobs) {
		t.Errorf("the emulator holds %d files for %d jobs", len(files), len(jobs))
	}
	return rerun
}

// pngs returns n distinct small PNGs.
func pngs(t *testing.T, n int) [][]byte {
	t.Helper()
	out := make([][]byte, n)
	for i := range out {
		out[i] = ikqtest.PNG(t, i, 16, 16)
	}
	return out
}

// pngServer serves n distinct small PNGs at /f/<i>.png and returns their URLs.
func pngServer(t *testing.T, n int) []string {
	t.Helper()
	ts := ikqtest.FilesServer(t, pngs(t, n))
	urls := make([]string, n)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/f/%d.png", ts.URL, i)
	}
	return urls
}

// slowServer serves one large PNG at /s/<name>.png, slowly: the whole file takes
// about d to stream. It records, per path, how many requests began and how many
// streamed the whole file.
type slowServer struct {
	URL     string
	size    int
	body    []byte
	chunk   int
	pause   time.Duration
	started sync.Map // path → *atomic.Int64
	full    sync.Map // path → *atomic.Int64
}

func newSlowServer(t *testing.T, size int, d time.Duration) *slowServer {
	t.Helper()
	s := newSlowSource(size, d)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	s.URL = ts.URL
	return s
}

// newSlowSource is a slowServer's handler, not yet served: its URL is unset.
func newSlowSource(size int, d time.Duration) *slowServer {
	body := noisePNG(size)
	const chunk = 32 << 10
	return &slowServer{size: len(body), body: body, chunk: chunk, pause: d / time.Duration((len(body)+chunk-1)/chunk)}
}

func (s *slowServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	counter(&s.started, r.URL.Path).Add(1)
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Content-Length", strconv.Itoa(len(s.body)))
	rc := http.NewResponseController(w)
	for off := 0; off < len(s.body); off += s.chunk {
		select {
		case <-r.Context().Done():
			return
		case <-time.After(s.pause):
		}
		if _, err := w.Write(s.body[off:min(off+s.chunk, len(s.body))]); err != nil {
			return
		}
		_ = rc.Flush()
	}
	counter(&s.full, r.URL.Path).Add(1)
}

func (s *slowServer) url(name string) string { return s.URL + "/s/" + name + ".png" }

// counts returns how many requests for name began and how many got the whole file.
func (s *slowServer) counts(name string) (started, full int64) {
	p := "/s/" + name + ".png"
	return counter(&s.started, p).Load(), counter(&s.full, p).Load()
}

func counter(m *sync.Map, key string) *atomic.Int64 {
	v, _ := m.LoadOrStore(key, new(atomic.Int64))
	return v.(*atomic.Int64)
}

// noisePNG is a PNG of about size bytes: random pixels do not compress.
func noisePNG(size int) []byte {
	side := 16
	for side*side*4 < size {
		side++
	}
	rng := rand.New(rand.NewPCG(1, 2))
	img := image.NewNRGBA(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.Uint32())
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	return b.Bytes()
}

// waitFor polls cond every poll until it returns true, at most d; then it fails the
// test with what cond last said.
func waitFor(t *testing.T, d, poll time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	var state string
	ikqtest.EventuallyWithin(t, d, poll, func() string {
		return fmt.Sprintf("still waiting for %s: %s", what, state)
	}, func() bool {
		var ok bool
		ok, state = cond()
		return ok
	})
}

// redisURL is the URL of DB 0 at addr.
func redisURL(addr string) string {
	return (&url.URL{Scheme: "redis", Host: addr, Path: "/0"}).String()
}

// postJSON posts body to u and returns the status and Retry-After header.
func postJSON(ctx context.Context, u, body string) (status int, retryAfter string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}
