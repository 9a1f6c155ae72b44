package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// testCluster is a Redis Cluster of private redis-server processes on loopback.
type testCluster struct {
	masters  []*redisproc.Process
	replicas []*redisproc.Process
}

// startCluster starts masters that split the 16384 slots evenly, as
// `redis-cli --cluster create` does, and one replica for each index in replicate.
func startCluster(t *testing.T, masters int, replicate ...int) *testCluster {
	t.Helper()
	if _, err := redisproc.LookPath(); err != nil {
		t.Skip("needs redis-server")
	}
	start := func() *redisproc.Process {
		p, err := redisproc.Start(redisproc.Options{Dir: t.TempDir(), Databases: 1,
			Args: []string{"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
				"--repl-diskless-sync-delay", "0"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		return p
	}
	c := &testCluster{}
	ctx := t.Context()
	for i := range masters {
		p := start()
		c.masters = append(c.masters, p)
		first, last := i*16384/masters, (i+1)*16384/masters-1
		if err := nodeDo(ctx, p, "CLUSTER", "ADDSLOTSRANGE", first, last); err != nil {
			t.Fatal(err)
		}
	}
	for range replicate {
		c.replicas = append(c.replicas, start())
	}
	all := append(append([]*redisproc.Process(nil), c.masters...), c.replicas...)
	for _, p := range all[1:] {
		if err := nodeDo(ctx, all[0], "CLUSTER", "MEET", "127.0.0.1", p.Port()); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "every node to know every other", func() bool {
		for _, p := range all {
			if clusterInfo(ctx, p)["cluster_known_nodes"] != strconv.Itoa(len(all)) {
				return false
			}
		}
		return true
	})
	for i, m := range replicate {
		id := nodeString(t, c.masters[m], "CLUSTER", "MYID")
		if err := nodeDo(ctx, c.replicas[i], "CLUSTER", "REPLICATE", id); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "the cluster to be ok on every node, replicas in sync", func() bool {
		for _, p := range all {
			if clusterInfo(ctx, p)["cluster_state"] != "ok" {
				return false
			}
		}
		for _, r := range c.replicas {
			if !strings.Contains(nodeString(t, r, "INFO", "replication"), "master_link_status:up") {
				return false
			}
		}
		return true
	})
	return c
}

// client is a cluster client that knows the masters.
func (c *testCluster) client(t *testing.T) *redis.ClusterClient {
	var addrs []string
	for _, p := range c.masters {
		addrs = append(addrs, p.Addr())
	}
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func nodeClient(p *redisproc.Process) *redis.Client {
	return redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1})
}

func nodeDo(ctx context.Context, p *redisproc.Process, args ...any) error {
	rdb := nodeClient(p)
	defer func() { _ = rdb.Close() }()
	return rdb.Do(ctx, args...).Err()
}

func nodeString(t *testing.T, p *redisproc.Process, args ...any) string {
	t.Helper()
	rdb := nodeClient(p)
	defer func() { _ = rdb.Close() }()
	s, err := rdb.Do(t.Context(), args...).Text()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func clusterInfo(ctx context.Context, p *redisproc.Process) map[string]string {
	rdb := nodeClient(p)
	defer func() { _ = rdb.Close() }()
	s, _ := rdb.ClusterInfo(ctx).Result()
	return infoFields(s)
}

// infoFields reads "name:value" lines.
func infoFields(s string) map[string]string {
	out := map[string]string{}
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			out[k] = v
		}
	}
	return out
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !ok(); time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
	}
}

// load is what a node ran: commands (those scripts run included) and their CPU time.
type load struct{ calls, usec int64 }

// notIkq are commands of the cluster client and of the test itself, not the store's.
var notIkq = map[string]bool{"info": true, "cluster": true, "ping": true, "command": true, "hello": true,
	"client": true, "readonly": true, "select": true, "config": true, "memory": true}

// commandStats reads a node's INFO commandstats, without the commands of notIkq.
func commandStats(t *testing.T, p *redisproc.Process) (total load, byCmd map[string]load) {
	t.Helper()
	byCmd = map[string]load{}
	for name, v := range infoFields(nodeString(t, p, "INFO", "commandstats")) {
		name, ok := strings.CutPrefix(name, "cmdstat_")
		if !ok || notIkq[strings.SplitN(name, "|", 2)[0]] {
			continue
		}
		var l load
		for f := range strings.SplitSeq(v, ",") {
			k, n, _ := strings.Cut(f, "=")
			switch k {
			case "calls":
				l.calls, _ = strconv.ParseInt(n, 10, 64)
			case "usec":
				l.usec, _ = strconv.ParseInt(n, 10, 64)
			}
		}
		byCmd[name] = l
		total.calls += l.calls
		total.usec += l.usec
	}
	return total, byCmd
}

// TestClusterTagSlots: the cluster puts each shard's keys in the slot the tag table
// says.
func TestClusterTagSlots(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3)
	rdb := c.client(t)
	for s := range Shards {
		for _, key := range []string{jobKey(newID(time.Now(), s)), statusKey(s, StatusQueued), runKey(s, "r")} {
			slot, err := rdb.ClusterKeySlot(t.Context(), key).Result()
			if err != nil {
				t.Fatal(err)
			}
			if int(slot) != 512*s+256 {
				t.Errorf("%s: slot %d, want %d", key, slot, 512*s+256)
			}
		}
	}
}

// TestClusterSpreadsLoad drives jobs through create → active → uploaded (an
// extension pending) → completed on three masters, checks the store's answers, and
// that no master runs more than 45% of the store's commands (INFO commandstats,
// commands run by scripts included).
func TestClusterSpreadsLoad(t *testing.T) {
	t.Parallel()
	jobs := 1500
	if os.Getenv("IKQ_LONG_TESTS") != "" {
		jobs = 5000
	}
	c := startCluster(t, 3)
	rdb := c.client(t)
	ctx := t.Context()
	s := New(rdb, Options{})
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	before := make([]load, len(c.masters))
	for i, m := range c.masters {
		before[i], _ = commandStats(t, m)
	}

	var (
		next    atomic.Int64
		wg      sync.WaitGroup
		errOnce sync.Once
		failure error
	)
	fail := func(err error) { errOnce.Do(func() { failure = err }) }
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= jobs || failure != nil {
					return
				}
				if err := lifecycle(ctx, s, i); err != nil {
					fail(fmt.Errorf("job %d: %w", i, err))
					return
				}
			}
		}()
	}
	wg.Wait()
	if failure != nil {
		t.Fatal(failure)
	}

	shares := make([]load, len(c.masters))
	var total load
	for i, m := range c.masters {
		after, _ := commandStats(t, m)
		shares[i] = load{after.calls - before[i].calls, after.usec - before[i].usec}
		total.calls += shares[i].calls
		total.usec += shares[i].usec
	}
	var report []string
	for i, l := range shares {
		callShare := float64(l.calls) / float64(total.calls)
		report = append(report, fmt.Sprintf("master %d: %.1f%% of commands, %.1f%% of their CPU time", i,
			100*callShare, 100*float64(l.usec)/float64(total.usec)))
		if callShare > 0.45 {
			t.Errorf("master %d ran %.1f%% of the store's commands, want at most 45%%", i, 100*callShare)
		}
	}
	t.Logf("%d jobs through create → active → uploaded → completed on 3 masters: %.1f commands a job (scripts' commands included)\n  %s",
		jobs, float64(total.calls)/float64(jobs), strings.Join(report, "\n  "))

	// The store answers as on one server.
	counts, err := s.Counts(ctx)
	if err != nil || counts[StatusCompleted] != int64(jobs) {
		t.Errorf("Counts = %v, %v; want %d completed", counts, err, jobs)
	}
	run, err := s.GetRun(ctx, "load", false)
	if err != nil || run.Total != int64(jobs/2+jobs%2) || run.Counts.Completed != run.Total || !run.Done {
		t.Errorf("run: %+v, %v", run, err)
	}
	seen := map[string]bool{}
	cursor := ""
	for {
		page, next, err := s.List(ctx, ListOptions{Limit: MaxListLimit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, j := range page {
			seen[j.ID] = true
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if len(seen) != jobs {
		t.Errorf("List over the cluster found %d jobs, want %d", len(seen), jobs)
	}
	for i := range 20 {
		if id, err := s.JobForFile(ctx, fileIDOf(i)); err != nil || !seen[id] {
			t.Errorf("JobForFile(%s) = %q, %v", fileIDOf(i), id, err)
		}
	}
	again, existed, err := s.Create(ctx, &Job{IdempotencyKey: "load-0", Queue: "default"}, nil)
	if err != nil || !existed || again.Status != StatusCompleted {
		t.Errorf("the idempotency key of a completed job: %+v existed %v, %v", again, existed, err)
	}
}

func fileIDOf(i int) string { return fmt.Sprintf("6673f1e7a1b2c3d4%08x", i) }

// lifecycle takes job i through the path of an upload with an extension; every other
// job belongs to a run and has an idempotency key.
func lifecycle(ctx context.Context, s *Store, i int) error {
	j, spec := migrationJob("load", i)
	if i%2 == 1 {
		j.Run, j.IdempotencyKey = "", ""
	} else {
		j.IdempotencyKey = fmt.Sprintf("load-%d", i)
	}
	job, _, err := s.Create(ctx, j, spec)
	if err != nil {
		return err
	}
	if _, err := s.Transition(ctx, job.ID, StatusActive, "attempt 1 of 5", func(j *Job) error {
		j.Attempts = 1
		return nil
	}); err != nil {
		return err
	}
	res, _ := uploadResult(i)
	if _, err := s.Transition(ctx, job.ID, StatusUploaded, "uploaded; waiting for 1 item", func(j *Job) error {
		j.Result, j.FileID, j.Extensions = res, fileIDOf(i), map[string]string{"remove-bg": "pending"}
		return nil
	}); err != nil {
		return err
	}
	// The extension's webhook finds the job by its file, and completes it.
	id, err := s.JobForFile(ctx, fileIDOf(i))
	if err != nil {
		return err
	}
	if _, err := s.Update(ctx, id, func(j *Job) error { j.Extensions["remove-bg"] = "success"; return nil }); err != nil {
		return err
	}
	_, err = s.Transition(ctx, id, StatusCompleted, "all items final", nil)
	return err
}

// TestClusterWaitReplicas: Create waits on the master that holds the job: a job on
// the master with a replica is confirmed, one on a master without is not, and is
// found again by its idempotency key.
func TestClusterWaitReplicas(t *testing.T) {
	t.Parallel()
	c := startCluster(t, 3, 0) // master 0 (slots 0-5460: shards 0-10) has a replica
	rdb := c.client(t)
	ctx := t.Context()
	s := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 100 * time.Millisecond})
	if err := rdb.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error { return m.Ping(ctx).Err() }); err != nil {
		t.Fatal(err)
	}
	keyIn := func(lo, hi int) string {
		for i := 0; ; i++ {
			if k := fmt.Sprintf("key-%d", i); shardOfString(k) >= lo && shardOfString(k) <= hi {
				return k
			}
		}
	}
	// The replica has time to confirm however loaded the machine; a master without
	// one fails s's short wait below.
	patient := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 10 * time.Second})
	ok, existed, err := patient.Create(ctx, &Job{IdempotencyKey: keyIn(0, 10), Queue: "default"}, json.RawMessage(`{}`))
	if err != nil || existed {
		t.Fatalf("a job on the master with a replica: %v", err)
	}
	replicaClient := nodeClient(c.replicas[0])
	defer func() { _ = replicaClient.Close() }()
	replica := replicaClient.Conn()
	defer func() { _ = replica.Close() }()
	if err := replica.ReadOnly(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := replica.Exists(ctx, jobKey(ok.ID)).Result(); n != 1 {
		t.Errorf("the replica does not have the confirmed job %s (%v)", ok.ID, err)
	}

	key := keyIn(11, 31)
	_, _, err = s.Create(ctx, &Job{IdempotencyKey: key, Queue: "default"}, nil)
	if !errors.Is(err, ErrNotReplicated) {
		t.Fatalf("a job on a master without replicas: %v, want ErrNotReplicated", err)
	}
	j, existed, err := New(rdb, Options{}).Create(ctx, &Job{IdempotencyKey: key, Queue: "default"}, nil)
	if err != nil || !existed {
		t.Errorf("trying again without waiting: %+v existed %v, %v; want the job written before", j, existed, err)
	}
	// Without an idempotency key, the job not confirmed is taken back.
	var lost int
	for range 10 {
		_, _, err := s.Create(ctx, &Job{Queue: "default"}, nil)
		if errors.Is(err, ErrNotReplicated) {
			lost++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	counts, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if want := int64(2 + 10 - lost); counts[StatusQueued] != want || lost == 0 {
		t.Errorf("%d queued jobs after %d of 10 were not confirmed, want %d", counts[StatusQueued], lost, want)
	}
}

// TestWaitReplicas: on one server with a replica, Create is confirmed by one replica
// and not by two.
func TestWaitReplicas(t *testing.T) {
	t.Parallel()
	if _, err := redisproc.LookPath(); err != nil {
		t.Skip("needs redis-server")
	}
	var procs []*redisproc.Process
	for range 2 {
		p, err := redisproc.Start(redisproc.Options{Dir: t.TempDir(), Args: []string{"--repl-diskless-sync-delay", "0"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Stop)
		procs = append(procs, p)
	}
	ctx := t.Context()
	if err := nodeDo(ctx, procs[1], "REPLICAOF", "127.0.0.1", procs[0].Port()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the replica to sync", func() bool {
		return strings.Contains(nodeString(t, procs[1], "INFO", "replication"), "master_link_status:up")
	})
	rdb := nodeClient(procs[0])
	t.Cleanup(func() { _ = rdb.Close() })

	one := New(rdb, Options{WaitReplicas: 1, WaitTimeout: 10 * time.Second}) // however loaded the machine
	j, _, err := one.Create(ctx, &Job{IdempotencyKey: "a", Queue: "default"}, nil)
	if err != nil {
		t.Fatalf("confirmed by its one replica: %v", err)
	}
	two := New(rdb, Options{WaitReplicas: 2, WaitTimeout: 100 * time.Millisecond})
	if _, _, err := two.Create(ctx, &Job{IdempotencyKey: "b", Queue: "default"}, nil); !errors.Is(err, ErrNotReplicated) {
		t.Errorf("two replicas asked of one: %v, want ErrNotReplicated", err)
	}
	if again, existed, err := one.Create(ctx, &Job{IdempotencyKey: "a", Queue: "default"}, nil); err != nil || !existed || again.ID != j.ID {
		t.Errorf("the key again: %v existed %v, %v", again, existed, err)
	}
	// Outcomes wait too; a transition to active does not (losing it loses nothing).
	if _, err := two.Transition(ctx, j.ID, StatusActive, "attempt 1", nil); err != nil {
		t.Fatalf("an active transition waited for replicas: %v", err)
	}
	if _, err := two.Transition(ctx, j.ID, StatusFailed, "gave up", nil); !errors.Is(err, ErrNotReplicated) {
		t.Errorf("an outcome two replicas did not confirm: %v, want ErrNotReplicated", err)
	}
	// The write landed on the master; only its confirmation was missing.
	if got, err := one.Get(ctx, j.ID); err != nil || got.Status != StatusFailed {
		t.Errorf("job after its unconfirmed outcome: %v, %v", got, err)
	}
	if _, err := one.Transition(ctx, j.ID, StatusQueued, "retried", nil); err != nil {
		t.Errorf("an outcome its one replica confirmed: %v", err)
	}
	// A server that refuses writes for want of replicas: ErrNotReplicated too.
	if err := rdb.ConfigSet(ctx, "min-replicas-to-write", "2").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := New(rdb, Options{}).Create(ctx, &Job{Queue: "default"}, nil); !errors.Is(err, ErrNotReplicated) {
		t.Errorf("min-replicas-to-write 2 with one replica: %v, want ErrNotReplicated", err)
	}
}
