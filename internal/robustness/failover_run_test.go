package robustness

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// The shape of a failover run.
const (
	failoverJobs = 300
	// postEvery paces the posts: the run lasts about 15 s when nothing goes wrong.
	postEvery = 50 * time.Millisecond
	// postDeadline bounds the posting, outage included.
	postDeadline = 90 * time.Second
	// settleWait bounds the wait, once posting is over, for every acknowledged job to
	// end. A healthy run ends them all within seconds; a task left active has to wait
	// for asynq's recoverer, a minute or two after its lease expired.
	settleWait = 40 * time.Second
	// servingBound is how soon after the promotion the API must serve again.
	servingBound = 10 * time.Second
	// failoverMaxAttempts is the jobs' maxAttempts: two, so that a job whose
	// attempts are spent on the outage (beyond the one it may have interrupted) ends
	// failed and shows.
	failoverMaxAttempts = 2
)

// failoverScenario is a topology and what happens to it. Its functions run on the
// test's goroutine.
type failoverScenario struct {
	name    string
	url     string          // REDIS_URL
	masters func() []string // the masters of the moment
	// disrupt kills the master or starts a failover, and returns the old master.
	disrupt func() string
	// promoted waits until a replica serves in old's place and returns it.
	promoted func(old string) string
	// recover, when set, brings the old master back once the new one serves.
	recover func(old string)
}

// runFailover runs ikq api and two workers (concurrency 8 each) on the scenario's
// Redis, posts failoverJobs jobs one at a time through the REST API (each retried,
// with its Idempotency-Key, until the API acknowledges it), and disrupts the master
// once a third are acknowledged; uploads take about a second, so that both workers
// hold tasks at that moment. It checks that every acknowledged job completes, none
// lost, stuck, failed or archived, with one asset per source (re-runs may add
// versions), and that the API (POST /v1/uploads and /readyz) and the workers serve
// again within servingBound of the promotion. It prints its figures on lines that
// start with "figure: failover=<name>".
func runFailover(t *testing.T, sc failoverScenario) {
	t.Helper()
	emu := startEmulator(t, "--latency", "800ms", "--latency-jitter", "400ms")
	urls := pngServer(t, failoverJobs)
	apiAddr := ikqtest.FreeAddr(t)
	api := startIkq(t, "api", []string{"REDIS_URL=" + sc.url, "IKQ_LISTEN=" + apiAddr, "IKQ_LOG_FORMAT=json", "IKQ_REDIS_WAIT_REPLICAS=1"}, "api")
	apiURL := "http://" + apiAddr
	waitHTTP(t, api, apiURL+"/readyz")
	workers := []*proc{
		startWorker(t, "worker-a", sc.url, emu, "--concurrency", "8", "--retry-base", "1s", "--sweep-interval", "5s", "--sweep-grace", "15s", "--redis-wait-replicas", "1"),
		startWorker(t, "worker-b", sc.url, emu, "--concurrency", "8", "--retry-base", "1s", "--sweep-interval", "5s", "--sweep-grace", "15s", "--redis-wait-replicas", "1"),
	}
	fig := figures{t: t, name: sc.name}

	masters := sc.masters()
	before := commandCalls(t, masters)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	p := &poster{api: apiURL, urls: urls, ids: map[int]string{}, done: make(chan struct{})}
	ready := &prober{url: apiURL + "/readyz"}
	var bg sync.WaitGroup
	bg.Go(func() { p.run(ctx, time.Now().Add(postDeadline)) })
	bg.Go(func() { ready.run(ctx) })

	waitFor(t, postDeadline, 50*time.Millisecond, "a third of the jobs to be acknowledged", func() (bool, string) {
		n := p.acked.Load()
		return n >= failoverJobs/3, fmt.Sprintf("%d acknowledged", n)
	})
	during := commandCalls(t, masters)
	fig.commandShares(masters, before, during)

	keys := keyCounts(t, masters, "ikq:*")
	old := sc.disrupt()
	disrupted := time.Now()
	var total int
	for _, n := range keys {
		total += n
	}
	fig.line("disrupted=%s ikq_keys_on_it=%d of=%d", old, keys[old], total)
	promoted := sc.promoted(old)
	promotedAt := time.Now()
	t.Logf("%s: %s replaced %s %s after the disruption", sc.name, promoted, old, promotedAt.Sub(disrupted).Round(time.Millisecond))
	if sc.recover != nil {
		sc.recover(old)
	}
	// New jobs wait for a replica to confirm them (IKQ_REDIS_WAIT_REPLICAS=1): the API
	// can acknowledge jobs again once the new master has one. After a planned
	// failover that is the old master, when the Sentinels make it a replica.
	replicaAt := waitReplica(t, promoted)
	t.Logf("%s: %s has a replica again %s after the promotion", sc.name, promoted, replicaAt.Sub(promotedAt).Round(time.Millisecond))

	<-p.done // at postDeadline at the latest
	posted := time.Now()

	// The test's own clients are made now, after the promotion: how ikq's clients
	// follow a failover is what is under test, not how the test's do.
	rcfg, err := redisurl.Parse(sc.url)
	if err != nil {
		t.Fatal(err)
	}
	rdb := rcfg.Client()
	defer func() { _ = rdb.Close() }()
	prod, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(rdb)

	acked := p.ackedJobs()
	jobs, settled := settle(t, prod, acked, settleWait)
	stop()
	bg.Wait()

	// What became of the acknowledged jobs.
	var completed, lost, stuck, failed []int
	for i := range failoverJobs { // in order, so that the first of each kind are shown
		id, ok := acked[i]
		if !ok {
			continue
		}
		j := jobs[i]
		switch {
		case j == nil:
			lost = append(lost, i)
			t.Errorf("job %d (%s) was acknowledged and is gone", i, id)
		case j.Status == tasks.StatusCompleted:
			completed = append(completed, i)
		case !j.Status.Final():
			stuck = append(stuck, i)
		default:
			failed = append(failed, i)
		}
	}
	for k, i := range stuck {
		if k < 10 {
			t.Errorf("job %d (%s) is still %s %s after the posting ended, its task %s; last events: %s",
				i, acked[i], jobs[i].Status, settleWait, taskState(insp, jobs[i]), lastEvents(jobs[i], 3))
		}
	}
	for k, i := range failed {
		if k < 10 {
			t.Errorf("job %d (%s) ended %s after %d attempts: %+v", i, acked[i], jobs[i].Status, jobs[i].Attempts, jobs[i].Error)
		}
	}
	if len(stuck) > 10 || len(failed) > 10 {
		t.Errorf("… %d stuck and %d failed or canceled in all", len(stuck), len(failed))
	}
	archived := archivedTasks(t, insp)
	for k, a := range archived {
		if k < 10 {
			t.Errorf("asynq archived task %s: %s", a.ID, a.LastErr)
		}
	}
	reran := 0
	for _, i := range completed {
		if jobs[i].Attempts > 1 {
			reran++
		}
	}

	// One asset per source, at the path of its job; versions are re-runs.
	files := emu.files(t)
	perSource := map[int]int{}
	versions := 0
	for _, f := range files {
		var i int
		if _, err := fmt.Sscanf(f.Name, "img-%04d_", &i); err != nil {
			t.Errorf("a file no job asked for: %s", f.Name)
			continue
		}
		perSource[i]++
		if f.VersionInfo.Name != "" && f.VersionInfo.Name != "Version 1" {
			versions++
		}
	}
	second := 0
	for i, n := range perSource {
		if n > 1 {
			second += n - 1
			t.Errorf("source %d was stored as %d assets, want 1", i, n)
		}
	}
	for _, i := range completed {
		if name, want := resultName(t, jobs[i]), expectedName(jobs[i], fileName(i)); name != want {
			t.Errorf("job %d (%s) stored as %s, want %s", i, acked[i], name, want)
		}
	}

	// When the API served again: the first acknowledgement after the last refusal
	// that followed the disruption.
	servedAt, refusals := p.servingAgain(disrupted)
	p.mu.Lock()
	for _, a := range p.answers {
		if a.code >= 500 && a.code != http.StatusServiceUnavailable {
			// An outage is a 503 with Retry-After: a client retries it; a 500 it may not.
			t.Errorf("the API answered %d at %s (%s after the disruption), want 503 during a failover",
				a.code, a.at.Format("15:04:05.000"), a.at.Sub(disrupted).Round(time.Millisecond))
		}
	}
	p.mu.Unlock()
	readyAt := ready.okAgain(disrupted)
	switch {
	case servedAt.IsZero():
		t.Errorf("the API did not acknowledge a job after its last refusal (%s after the disruption); %d of %d posted",
			posted.Sub(disrupted).Round(time.Millisecond), len(acked), failoverJobs)
	case servedAt.Sub(replicaAt) > servingBound:
		t.Errorf("the API served again %s after the new master had a replica, want within %s",
			servedAt.Sub(replicaAt).Round(time.Millisecond), servingBound)
	}
	switch {
	case readyAt.IsZero():
		t.Errorf("GET /readyz did not answer 200 again after its last other answer")
	case readyAt.Sub(promotedAt) > servingBound:
		t.Errorf("GET /readyz answered 200 again %s after the promotion, want within %s",
			readyAt.Sub(promotedAt).Round(time.Millisecond), servingBound)
	}
	// When the workers served again: the first job completed after the promotion.
	var workersAt time.Time
	for _, i := range completed {
		for _, e := range jobs[i].Events {
			if e.State == tasks.StatusCompleted && e.Time.After(promotedAt) && (workersAt.IsZero() || e.Time.Before(workersAt)) {
				workersAt = e.Time
			}
		}
	}
	if !workersAt.IsZero() && workersAt.Sub(promotedAt) > servingBound {
		t.Errorf("the workers completed a job again %s after the promotion, want within %s",
			workersAt.Sub(promotedAt).Round(time.Millisecond), servingBound)
	}
	if len(acked) != failoverJobs {
		t.Errorf("%d of %d jobs acknowledged by the end of the posting", len(acked), failoverJobs)
	}
	for _, w := range workers {
		if w.exited() {
			t.Errorf("%s exited: %v", w.name, w.err)
		}
	}

	fig.line("jobs acknowledged=%d completed=%d lost=%d stuck=%d failed=%d archived=%d second_assets=%d versions=%d reran=%d",
		len(acked), len(completed), len(lost), len(stuck), len(failed), len(archived), second, versions, reran)
	fig.line("seconds kill_to_promotion=%s kill_to_api_serving=%s promotion_to_api_serving=%s kill_to_readyz_ok=%s "+
		"promotion_to_worker_completing=%s kill_to_all_jobs_final=%s refusals=%s promotion_to_replica=%s replica_to_api_serving=%s",
		secs(promotedAt.Sub(disrupted)), since(servedAt, disrupted), since(servedAt, promotedAt), since(readyAt, disrupted),
		since(workersAt, promotedAt), since(settled, disrupted), refusals, secs(replicaAt.Sub(promotedAt)), since(servedAt, replicaAt))
	fig.memory(sc.masters(), len(completed))
}

// settle waits, at most d, until every job is final or gone, and returns the
// records (nil for a job that is gone) and when they all were (zero if they were not).
func settle(t *testing.T, p *producer.Client, ids map[int]string, d time.Duration) (map[int]*tasks.Job, time.Time) {
	t.Helper()
	jobs := map[int]*tasks.Job{}
	deadline := time.Now().Add(d)
	for {
		open := 0
		for i, id := range ids {
			if j := jobs[i]; j != nil && j.Status.Final() {
				continue
			}
			ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
			j, err := p.Get(ctx, id)
			cancel()
			switch {
			case errors.Is(err, tasks.ErrNotFound):
				jobs[i] = nil
				continue
			case err != nil:
				open++
				continue
			}
			jobs[i] = j
			if !j.Status.Final() {
				open++
			}
		}
		if open == 0 {
			return jobs, time.Now()
		}
		if time.Now().After(deadline) {
			return jobs, time.Time{}
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// lastEvents are the job's last n events, for failure messages.
func lastEvents(j *tasks.Job, n int) string {
	ev := j.Events[max(0, len(j.Events)-n):]
	parts := make([]string, len(ev))
	for k, e := range ev {
		parts[k] = fmt.Sprintf("%s %s %q", e.Time.Format("15:04:05.000"), e.State, e.Message)
	}
	return strings.Join(parts, "; ")
}

// taskState says what asynq holds of the job's task, for failure messages.
func taskState(insp *asynq.Inspector, j *tasks.Job) string {
	info, err := insp.GetTaskInfo(j.Queue, j.ID)
	switch {
	case errors.Is(err, asynq.ErrTaskNotFound), errors.Is(err, asynq.ErrQueueNotFound):
		return "does not exist"
	case err != nil:
		return fmt.Sprintf("cannot be read (%v)", err)
	}
	return fmt.Sprintf("is %s (retried %d, last error %q)", info.State, info.Retried, info.LastErr)
}

// archivedTasks are the tasks asynq archived in every queue.
func archivedTasks(t *testing.T, insp *asynq.Inspector) []*asynq.TaskInfo {
	t.Helper()
	var all []*asynq.TaskInfo
	for _, q := range []string{tasks.QueueCritical, tasks.QueueDefault, tasks.QueueLow} {
		page, err := insp.ListArchivedTasks(q, asynq.PageSize(1000))
		if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
			t.Errorf("archived tasks of %s: %v", q, err)
		}
		all = append(all, page...)
	}
	return all
}

func secs(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) }

// since is secs(t - from), or "never" for a zero t.
func since(t, from time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return secs(t.Sub(from))
}

// poster posts one job per source, in order, through the REST API, each until the
// API acknowledges it (202, or 200 for an idempotency key it already knew), and
// records every answer.
type poster struct {
	api  string
	urls []string

	acked atomic.Int64
	done  chan struct{} // closed when run returns

	mu      sync.Mutex
	answers []answer
	ids     map[int]string
}

// answer is what one POST got, and when.
type answer struct {
	at   time.Time
	code int // 0: no answer (err)
	err  error
}

func (p *poster) run(ctx context.Context, deadline time.Time) {
	defer close(p.done)
	for i := 0; i < len(p.urls) && time.Now().Before(deadline) && ctx.Err() == nil; {
		body := fmt.Sprintf(`{"file": %q, "fileName": %q, "maxAttempts": %d}`, p.urls[i], fileName(i), failoverMaxAttempts)
		code, id, err := postIdempotent(ctx, p.api+"/v1/uploads", body, "failover-"+strconv.Itoa(i))
		if ctx.Err() != nil {
			return // an answer cut short by the end of the run is not the API's
		}
		p.mu.Lock()
		p.answers = append(p.answers, answer{at: time.Now(), code: code, err: err})
		if code == http.StatusAccepted || code == http.StatusOK {
			p.ids[i] = id
			i++
			p.acked.Add(1)
		}
		p.mu.Unlock()
		pause := postEvery
		if code != http.StatusAccepted && code != http.StatusOK {
			pause = 200 * time.Millisecond
		}
		select {
		case <-ctx.Done():
		case <-time.After(pause):
		}
	}
}

func (p *poster) ackedJobs() map[int]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return maps.Clone(p.ids)
}

// servingAgain is when the API acknowledged a job after its last refusal (or failed
// request) that followed from, and the refusals after from by answer; zero when it
// never did.
func (p *poster) servingAgain(from time.Time) (time.Time, string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var served time.Time
	counts := map[string]int{}
	for _, a := range p.answers {
		if a.at.Before(from) {
			continue
		}
		ok := a.code == http.StatusAccepted || a.code == http.StatusOK
		switch {
		case ok && served.IsZero():
			served = a.at
		case !ok:
			served = time.Time{}
			k := strconv.Itoa(a.code)
			if a.err != nil {
				k = "error"
			}
			counts[k]++
		}
	}
	keys := make([]string, 0, len(counts))
	for k := range counts {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, counts[k])
	}
	if len(parts) == 0 {
		return served, "none"
	}
	return served, strings.Join(parts, ",")
}

// postIdempotent posts a job with an Idempotency-Key and returns the status and the
// job's id.
func postIdempotent(ctx context.Context, u, body, key string) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, "", err
	}
	var j struct {
		ID string `json:"id"`
	}
	if resp.StatusCode/100 == 2 {
		if err := json.Unmarshal(b, &j); err != nil || j.ID == "" {
			return 0, "", fmt.Errorf("answer %d without a job: %.200s", resp.StatusCode, b)
		}
	}
	return resp.StatusCode, j.ID, nil
}

// prober asks /readyz every 250 ms and records the answers.
type prober struct {
	url string

	mu      sync.Mutex
	answers []answer
}

func (r *prober) run(ctx context.Context) {
	for ctx.Err() == nil {
		code, _, err := get(ctx, r.url)
		if ctx.Err() != nil {
			return // an answer cut short by the end of the run is not the API's
		}
		r.mu.Lock()
		r.answers = append(r.answers, answer{at: time.Now(), code: code, err: err})
		r.mu.Unlock()
		select {
		case <-ctx.Done():
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// okAgain is the first 200 after the last other answer that followed from; zero when
// there is none.
func (r *prober) okAgain(from time.Time) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ok time.Time
	for _, a := range r.answers {
		if a.at.Before(from) {
			continue
		}
		switch {
		case a.code != http.StatusOK:
			ok = time.Time{}
		case ok.IsZero():
			ok = a.at
		}
	}
	return ok
}

// figures prints a run's figures, each on a line of its own that starts with
// "figure: failover=<name>", in the test's log and on stdout.
type figures struct {
	t    *testing.T
	name string
}

func (f figures) line(format string, args ...any) {
	s := fmt.Sprintf("figure: failover=%s ", f.name) + fmt.Sprintf(format, args...)
	f.t.Log(s)
	fmt.Fprintln(os.Stdout, s)
}

// adminCommands are left out of the command shares: the servers' own chatter
// (replication, cluster bus questions, health checks), not ikq's work.
var adminCommands = []string{"info", "ping", "replconf", "psync", "sync", "hello", "auth", "select",
	"echo", "latency", "slowlog", "monitor", "debug", "scan"}
var adminPrefixes = []string{"cluster|", "config|", "client|", "command|", "memory|", "sentinel|", "latency|", "slowlog|"}

// commandCalls sums INFO commandstats' calls of ikq's data commands per server.
func commandCalls(t *testing.T, addrs []string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		s, err := c.Info(t.Context(), "commandstats").Result()
		_ = c.Close()
		if err != nil {
			t.Errorf("INFO commandstats of %s: %v", addr, err)
			continue
		}
		for line := range strings.Lines(s) {
			name, rest, ok := strings.Cut(strings.TrimPrefix(strings.TrimSpace(line), "cmdstat_"), ":")
			if !ok || strings.HasPrefix(line, "#") || slices.Contains(adminCommands, name) ||
				slices.ContainsFunc(adminPrefixes, func(p string) bool { return strings.HasPrefix(name, p) }) {
				continue
			}
			for kv := range strings.SplitSeq(rest, ",") {
				if v, ok := strings.CutPrefix(kv, "calls="); ok {
					n, _ := strconv.ParseInt(v, 10, 64)
					out[addr] += n
				}
			}
		}
	}
	return out
}

// commandShares prints each master's share of the commands between two samples.
func (f figures) commandShares(masters []string, before, after map[string]int64) {
	var total int64
	for _, m := range masters {
		total += after[m] - before[m]
	}
	for _, m := range masters {
		d := after[m] - before[m]
		share := 0.0
		if total > 0 {
			share = float64(d) / float64(total)
		}
		f.line("master=%s command_share=%.3f commands=%d of=%d", m, share, d, total)
	}
}

// memory prints the bytes the masters hold per completed job: ikq's keys and asynq's,
// by MEMORY USAGE of each key.
func (f figures) memory(masters []string, completed int) {
	t := f.t
	if completed == 0 {
		return
	}
	sizes := map[string]int64{}
	keys := map[string]int{}
	for _, addr := range masters {
		c := redis.NewClient(&redis.Options{Addr: addr})
		for _, prefix := range []string{"ikq:", "asynq:"} {
			iter := c.Scan(t.Context(), 0, prefix+"*", 1000).Iterator()
			for iter.Next(t.Context()) {
				n, err := c.MemoryUsage(t.Context(), iter.Val(), 0).Result()
				if err == nil {
					sizes[prefix] += n
					keys[prefix]++
				}
			}
			if err := iter.Err(); err != nil {
				t.Errorf("SCAN %s* on %s: %v", prefix, addr, err)
			}
		}
		_ = c.Close()
	}
	f.line("bytes_per_finished_job=%d ikq_bytes=%d ikq_keys=%d asynq_bytes=%d asynq_keys=%d completed=%d",
		(sizes["ikq:"]+sizes["asynq:"])/int64(completed), sizes["ikq:"], keys["ikq:"], sizes["asynq:"], keys["asynq:"], completed)
}

// keyCounts counts the keys that match pattern on each server.
func keyCounts(t *testing.T, addrs []string, pattern string) map[string]int {
	t.Helper()
	out := map[string]int{}
	for _, addr := range addrs {
		c := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
		iter := c.Scan(t.Context(), 0, pattern, 1000).Iterator()
		for iter.Next(t.Context()) {
			out[addr]++
		}
		if err := iter.Err(); err != nil {
			t.Errorf("SCAN %s on %s: %v", pattern, addr, err)
		}
		_ = c.Close()
	}
	return out
}

// waitReplica waits until the master at addr has a replica online, and returns when.
func waitReplica(t *testing.T, addr string) time.Time {
	t.Helper()
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer func() { _ = c.Close() }()
	waitFor(t, promotionWait, 100*time.Millisecond, addr+" to have a replica online", func() (bool, string) {
		info, err := c.Info(t.Context(), "replication").Result()
		if err != nil {
			return false, err.Error()
		}
		return strings.Contains(info, ",state=online,"), "no replica online"
	})
	return time.Now()
}
