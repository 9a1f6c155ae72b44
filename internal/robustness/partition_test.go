package robustness

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redisproc"
	"github.com/ikq-dev/ikq/tasks"
)

// TestPartitionedWorker runs ikq on separate hosts, Linux network namespaces joined
// by a bridge: Redis, the emulator and `ikq api` on host A, worker B and worker C on
// hosts of their own, the sources on the test's own end of the network. 40 uploads
// each take seconds (a source streamed over 2 s, 2-5 s of upload latency); once a
// quarter have completed and B has uploads in flight, B's link is cut at the switch.
// B cannot renew its leases; 30 s later asynq's lease has run out, and C's recoverer
// hands B's tasks out again: C completes them, with no second asset (an upload of B's
// that reached the emulator before the cut is overwritten: a second version). Then
// B's link comes back: B rejoins and takes new work, and records nothing about the
// jobs it lost: their records keep the one completed outcome C wrote.
func TestPartitionedWorker(t *testing.T) {
	long(t)
	requireNetns(t)
	const (
		n     = 40
		extra = 8 // jobs posted once B is back
		token = "partition-test-token"
	)
	lab := newNetLab(t)
	hostA, hostB, hostC := lab.addHost(t, "A"), lab.addHost(t, "B"), lab.addHost(t, "C")

	redisAddr := startRedisIn(t, hostA)
	c := newClient(t, redisAddr)
	emu := startEmulatorIn(t, hostA, "--latency", "2s", "--latency-jitter", "3s")
	apiURL := "http://" + net.JoinHostPort(hostA.IP, "8080")
	api := startIkqIn(t, hostA, "api", []string{
		"REDIS_URL=" + redisURL(redisAddr), "IKQ_LISTEN=" + net.JoinHostPort(hostA.IP, "8080"),
		"IKQ_API_TOKENS=" + token, "IKQ_LOG_FORMAT=json",
	}, "api")
	waitHTTP(t, api, apiURL+"/readyz")
	src := serveSources(t, lab, newSlowSource(256<<10, 2*time.Second))

	jobs := make([]*jobstore.Job, n+extra)
	post := func(i int) {
		jobs[i] = postUpload(t, apiURL, token, tasks.Upload{File: src.url(fmt.Sprint("f", i)), FileName: fileName(i)})
	}
	for i := range n {
		post(i)
	}
	index := map[string]int{} // job id → i
	for i, j := range jobs[:n] {
		index[j.ID] = i
	}

	env := append(workerEnv(redisURL(redisAddr), emu),
		"IMAGEKIT_API_URL="+emu.URL, "IKQ_FETCH_ALLOW="+lab.subnet+".0/24", "IKQ_PUBLIC_URL="+apiURL)
	wB := startIkqIn(t, hostB, "worker B", env, "worker", "--concurrency", "4", "--retry-base", "1s")
	wC := startIkqIn(t, hostC, "worker C", env, "worker", "--concurrency", "4", "--retry-base", "1s")

	// B's jobs in flight: those whose source B fetched and whose record is active.
	inFlightOnB := func() []string {
		var ids []string
		active, _, err := c.List(t.Context(), jobstore.ListOptions{Status: jobstore.StatusActive, Limit: 100})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range active {
			if i, ok := index[j.ID]; ok && slices.Contains(src.hosts(fmt.Sprint("f", i)), hostB.IP) {
				ids = append(ids, j.ID)
			}
		}
		return ids
	}
	waitFor(t, 2*time.Minute, 50*time.Millisecond, "a quarter of the jobs done and worker B uploading", func() (bool, string) {
		cnt := c.counts(t)
		onB := inFlightOnB()
		return cnt[jobstore.StatusCompleted] >= n/4 && len(onB) >= 2, fmt.Sprintf("jobs %s; %d in flight on B", fmtCounts(cnt), len(onB))
	})
	lab.cut(t, hostB)
	cut := time.Now()
	held := inFlightOnB() // B cannot write now: what is active of B's stays so
	atCut := c.counts(t)
	t.Logf("B's link cut: jobs %s; B holds %d: %v", fmtCounts(atCut), len(held), held)
	if len(held) == 0 {
		t.Fatal("B held no job when its link was cut: nothing to recover")
	}

	waitFor(t, 5*time.Minute, 200*time.Millisecond, "B's jobs to complete elsewhere", func() (bool, string) {
		var left []string
		for _, id := range held {
			j, err := c.Get(t.Context(), id)
			if err != nil {
				t.Fatal(err)
			}
			if j.Status != jobstore.StatusCompleted {
				left = append(left, fmt.Sprintf("%s %s (attempt %d)", id, j.Status, j.Attempts))
			}
		}
		return len(left) == 0, fmt.Sprintf("%.0fs after the cut, not completed: %v", time.Since(cut).Seconds(), left)
	})
	recovered := time.Since(cut)
	c.waitAllCompleted(t, n, time.Minute)
	before := c.records(t, jobs[:n])
	uploadsBeforeHeal := emu.stats(t).Uploads
	t.Logf("B's %d jobs completed %.1fs after the cut; all %d jobs completed", len(held), recovered.Seconds(), n)

	lab.heal(t, hostB)
	healed := time.Now()
	if wB.exited() {
		t.Fatalf("worker B exited while cut off: %v", wB.err)
	}
	// B is back once its heartbeat reaches Redis again.
	waitFor(t, 2*time.Minute, 200*time.Millisecond, "worker B to reach Redis again", func() (bool, string) {
		servers, err := c.inspector.Servers()
		if err != nil {
			t.Fatal(err)
		}
		var pids []int
		for _, s := range servers {
			if s.PID == wB.cmd.Process.Pid {
				return true, ""
			}
			pids = append(pids, s.PID)
		}
		return false, fmt.Sprintf("servers seen: pids %v; B is %d", pids, wB.cmd.Process.Pid)
	})
	rejoined := time.Since(healed)
	// New work while B is back: the late results of its lost jobs, if any, have had
	// the time these jobs take to land.
	for i := n; i < n+extra; i++ {
		post(i)
	}
	c.waitAllCompleted(t, n+extra, 2*time.Minute)
	after := c.records(t, jobs)
	tookB := 0
	for i := n; i < n+extra; i++ {
		if slices.Contains(src.hosts(fmt.Sprint("f", i)), hostB.IP) {
			tookB++
		}
	}
	t.Logf("B reached Redis again %.1fs after its link came back; it fetched %d of the %d jobs posted then", rejoined.Seconds(), tookB, extra)

	// Nothing B did after the heal changed a record of the first run.
	for i, j := range after[:n] {
		b := before[i]
		if j.Status != b.Status || len(j.Events) != len(b.Events) || !j.UpdatedAt.Equal(b.UpdatedAt) || j.FileID != b.FileID {
			t.Errorf("job %s changed after B came back: %s, %d events, updated %s, file %s; was %s, %d events, updated %s, file %s\n%s",
				j.ID, j.Status, len(j.Events), j.UpdatedAt, j.FileID, b.Status, len(b.Events), b.UpdatedAt, b.FileID, timeline(j))
		}
	}
	uploadedOnB, uploadedOnC := uploadedJobs(wB), uploadedJobs(wC)
	for i, j := range after {
		if j.Status != jobstore.StatusCompleted {
			t.Errorf("job %s is %s", j.ID, j.Status)
		}
		if n := countEvents(j, jobstore.StatusCompleted); n != 1 {
			t.Errorf("job %s has %d completed events, want 1:\n%s", j.ID, n, timeline(j))
		}
		if name := resultName(t, j); name != expectedName(j, fileName(i)) {
			t.Errorf("job %s stored as %s, want %s", j.ID, name, expectedName(j, fileName(i)))
		}
	}
	attempts := map[int]int{}
	for _, id := range held {
		j := after[index[id]]
		attempts[j.Attempts]++
		if uploadedOnB[id] > 0 { // the record decides; this says what B believed
			t.Logf("worker B logged an upload of job %s, which it lost to the partition:\n%s", id, strings.Join(wB.out.Lines(id), "\n"))
		}
		if uploadedOnC[id] != 1 {
			t.Errorf("worker C logged %d uploads of job %s, want 1 (B lost it to the partition)", uploadedOnC[id], id)
		}
		// B first, then C. A request B wrote during the cut may still reach the source
		// when the link heals (TCP retransmits it), after C's: B has given the attempt
		// up by then, so only the order of B's first fetch and C's counts.
		if from := src.hosts(fmt.Sprint("f", index[id])); len(from) == 0 || from[0] != hostB.IP || !slices.Contains(from[1:], hostC.IP) {
			t.Errorf("job %s's source was fetched by %v, want B first and C after it", id, from)
		}
		if j.Attempts < 2 {
			t.Errorf("job %s completed on attempt %d; B's lost attempt should count:\n%s", id, j.Attempts, timeline(j))
		}
	}
	if wB.exited() || wC.exited() {
		t.Errorf("a worker exited: B %v, C %v", wB.err, wC.err)
	}
	c.queueEmpty(t)
	versions := assertOneFilePerJob(t, emu, after)
	st := emu.stats(t)
	t.Logf("timeline of one of B's jobs:\n%s", timeline(after[index[held[0]]]))
	t.Logf("B's log about the jobs it lost, in seconds after the cut (the heal came %.1fs after it): %s",
		healed.Sub(cut).Seconds(), logSummary(wB, held, cut))
	t.Logf("figures: %d jobs (+%d after the heal), all completed; B held %d at the cut, completed on C %.1fs after it (attempts: %v); "+
		"%d files, %d with a second version; the emulator stored %d uploads (%d after the heal); B back %.1fs after the heal",
		n, extra, len(held), recovered.Seconds(), attempts, len(after), versions, st.Uploads, st.Uploads-uploadsBeforeHeal-int64(extra), rejoined.Seconds())
}

// startRedisIn starts a private redis-server on h, at port 6379 of h's address (h
// is a namespace of its own: the port is free), and waits until it answers.
func startRedisIn(t *testing.T, h *labHost) string {
	t.Helper()
	path, err := redisproc.LookPath()
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort(h.IP, "6379")
	p := startProc(t, "redis", h.command(path, "--port", "6379", "--bind", h.IP, "--protected-mode", "no",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir()))
	waitFor(t, 10*time.Second, 20*time.Millisecond, "redis-server on "+addr, func() (bool, string) {
		if p.exited() {
			t.Fatalf("redis-server exited: %v", p.err)
		}
		err := redisproc.Ping(addr)
		return err == nil, fmt.Sprint(err)
	})
	return addr
}

// startIkqIn runs `ikq args...` on h, with env added to a clean environment.
func startIkqIn(t *testing.T, h *labHost, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := h.command(ikqBinary(t), args...)
	cmd.Env = ikqEnv(env)
	return startProc(t, name, cmd)
}

// startEmulatorIn runs the emulator on h, at port 9090 of h's address.
func startEmulatorIn(t *testing.T, h *labHost, flags ...string) *emulator {
	t.Helper()
	addr := net.JoinHostPort(h.IP, "9090")
	args := append([]string{"emulator", "--listen", addr, "--private-key", privateKey, "--log-level", "warn"}, flags...)
	e := &emulator{proc: startIkqIn(t, h, "emulator", nil, args...), URL: "http://" + addr}
	waitHTTP(t, e.proc, e.URL+"/_emulator/health")
	return e
}

// labSources is a slowServer served on the test's end of the lab, which records the
// hosts that asked for each source.
type labSources struct {
	*slowServer
	mu   sync.Mutex
	from map[string][]string // path → remote addresses, in order
}

func serveSources(t *testing.T, lab *netLab, s *slowServer) *labSources {
	t.Helper()
	ls := &labSources{slowServer: s, from: map[string][]string{}}
	ln := lab.listen(t)
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, _ := net.SplitHostPort(r.RemoteAddr)
		ls.mu.Lock()
		ls.from[r.URL.Path] = append(ls.from[r.URL.Path], host)
		ls.mu.Unlock()
		s.ServeHTTP(w, r)
	})}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() }) // Close, not Shutdown: a cut host's requests never end
	s.URL = "http://" + ln.Addr().String()
	return ls
}

// hosts are the addresses that asked for source name, in order.
func (ls *labSources) hosts(name string) []string {
	ls.mu.Lock()
	defer ls.mu.Unlock()
	return slices.Clone(ls.from["/s/"+name+".png"])
}

// postUpload creates a job through the REST API.
func postUpload(t *testing.T, apiURL, token string, u tasks.Upload) *jobstore.Job {
	t.Helper()
	body, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, apiURL+"/v1/uploads", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	var j jobstore.Job
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST /v1/uploads: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&j); err != nil || j.ID == "" {
		t.Fatalf("POST /v1/uploads: decoding the record: %v", err)
	}
	return &j
}

// logLine is the part of a worker's JSON log line these tests read.
type logLine struct {
	Time  time.Time `json:"time"`
	Msg   string    `json:"msg"`
	JobID string    `json:"job_id"`
}

// logLines decodes a worker's JSON log; other lines (asynq's own) are skipped.
func logLines(p *proc) []logLine {
	var out []logLine
	for line := range strings.Lines(p.out.String()) {
		var l logLine
		if json.Unmarshal([]byte(line), &l) == nil {
			out = append(out, l)
		}
	}
	return out
}

// uploadedJobs counts the worker's "uploaded" log lines per job: the uploads it
// recorded (or found recorded already).
func uploadedJobs(p *proc) map[string]int {
	n := map[string]int{}
	for _, l := range logLines(p) {
		if l.Msg == "uploaded" {
			n[l.JobID]++
		}
	}
	return n
}

// logSummary counts the worker's log messages about the jobs ids, with the seconds
// after since of the first and last of each.
func logSummary(p *proc, ids []string, since time.Time) string {
	type seen struct {
		n           int
		first, last time.Time
	}
	msgs := map[string]*seen{}
	for _, l := range logLines(p) {
		if !slices.Contains(ids, l.JobID) {
			continue
		}
		s := msgs[l.Msg]
		if s == nil {
			s = &seen{first: l.Time}
			msgs[l.Msg] = s
		}
		s.n++
		s.last = l.Time
	}
	out := make([]string, 0, len(msgs))
	for m, s := range msgs {
		out = append(out, fmt.Sprintf("%q ×%d (%+.1fs to %+.1fs)", m, s.n, s.first.Sub(since).Seconds(), s.last.Sub(since).Seconds()))
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

func countEvents(j *jobstore.Job, s jobstore.Status) int {
	n := 0
	for _, e := range j.Events {
		if e.State == s {
			n++
		}
	}
	return n
}

// timeline shows a job's events, one a line.
func timeline(j *jobstore.Job) string {
	var b strings.Builder
	for _, e := range j.Events {
		fmt.Fprintf(&b, "  %s %-9s %s\n", e.Time.Format("15:04:05.000"), e.State, e.Message)
	}
	return b.String()
}
