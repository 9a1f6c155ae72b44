package robustness

import (
	"slices"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// promotionWait bounds the wait for a replica to take over from a master.
const promotionWait = 30 * time.Second

// clusterOptions are those of the failover tests' clusters: a node timeout of two
// seconds makes an outage of about five, long enough for several retries to run
// into it.
var clusterOptions = redistest.ClusterOptions{NodeTimeout: 2 * time.Second}

// TestFailoverClusterKill: on a Redis Cluster of three masters with a replica each,
// the master that serves the default queue (asynq:{default}, where the job records'
// slot lands too unless they are spread over the cluster) is killed with SIGKILL in
// the middle of a run; its replica takes over, and the killed node comes back as a
// replica.
func TestFailoverClusterKill(t *testing.T) {
	long(t)
	c := redistest.NewCluster(t, clusterOptions)
	runFailover(t, failoverScenario{
		name:    "cluster-kill",
		url:     c.URL(),
		masters: func() []string { return c.Masters(t) },
		disrupt: func() string {
			old := c.MasterOfKey(t, "asynq:{default}:pending")
			c.Kill(t, old)
			return old
		},
		promoted: func(old string) string { return c.WaitPromoted(t, old, promotionWait) },
		recover:  func(old string) { c.Restart(t, old) },
	})
}

// TestFailoverClusterKillJobState: the default queue's slot is first given to
// another master than the one the job records' slot lands on by default; in the
// middle of a run, the master that holds the most job state (ikq:* keys) but not the
// queue is killed with SIGKILL. Workers still get tasks from the queue while the
// records of those tasks' jobs cannot be read until the replica takes over.
func TestFailoverClusterKillJobState(t *testing.T) {
	long(t)
	c := redistest.NewCluster(t, clusterOptions)
	const queueKey = "asynq:{default}:pending"
	masters := c.Masters(t)
	from := c.MasterOfKey(t, queueKey)
	c.MoveSlot(t, c.KeySlot(t, queueKey), masters[(slices.Index(masters, from)+1)%len(masters)])
	runFailover(t, failoverScenario{
		name:    "cluster-kill-job-state",
		url:     c.URL(),
		masters: func() []string { return c.Masters(t) },
		disrupt: func() string {
			queue := c.MasterOfKey(t, queueKey)
			keys := keyCounts(t, c.Masters(t), "ikq:*")
			old := ""
			for m, n := range keys {
				if m != queue && (old == "" || n > keys[old]) {
					old = m
				}
			}
			if keys[old] == 0 {
				t.Fatalf("no master but the queue's (%s) holds job state: %v", queue, keys)
			}
			c.Kill(t, old)
			return old
		},
		promoted: func(old string) string { return c.WaitPromoted(t, old, promotionWait) },
		recover:  func(old string) { c.Restart(t, old) },
	})
}

// TestFailoverSentinelKill: the master of a Sentinel group (one replica, three
// Sentinels, quorum two) is killed with SIGKILL in the middle of a run; the
// Sentinels promote the replica, and the killed server comes back as its replica.
func TestFailoverSentinelKill(t *testing.T) {
	long(t)
	g := redistest.NewSentinel(t, redistest.SentinelOptions{})
	runFailover(t, failoverScenario{
		name:    "sentinel-kill",
		url:     g.URL(),
		masters: func() []string { return []string{g.Master(t)} },
		disrupt: func() string {
			old := g.Master(t)
			g.Kill(t, old)
			return old
		},
		promoted: func(old string) string { return g.WaitFailover(t, old, promotionWait) },
		recover:  func(old string) { g.Restart(t, old) },
	})
}

// TestFailoverSentinelPlanned: SENTINEL FAILOVER in the middle of a run, as for
// maintenance: the replica is promoted while the old master still runs and takes
// writes until the Sentinels make it a replica (10-20 s later), when its data is
// replaced by the new master's.
func TestFailoverSentinelPlanned(t *testing.T) {
	long(t)
	g := redistest.NewSentinel(t, redistest.SentinelOptions{})
	runFailover(t, failoverScenario{
		name:    "sentinel-planned",
		url:     g.URL(),
		masters: func() []string { return []string{g.Master(t)} },
		disrupt: func() string {
			old := g.Master(t)
			g.Failover(t)
			return old
		},
		promoted: func(old string) string { return g.WaitFailover(t, old, promotionWait) },
	})
}
