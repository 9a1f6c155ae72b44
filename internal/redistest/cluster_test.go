package redistest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisurl"
)

func TestCluster(t *testing.T) {
	t.Parallel()
	needServer(t)
	c := NewCluster(t, ClusterOptions{})

	// Three masters share the slots, each with one replica in sync.
	masters := c.Masters(t)
	if len(masters) != 3 {
		t.Fatalf("masters %v, want 3", masters)
	}
	covered := 0
	for _, m := range masters {
		for _, r := range c.Slots(t, m) {
			covered += r.End - r.Start + 1
		}
	}
	if covered != clusterSlots {
		t.Errorf("the masters serve %d slots, want %d", covered, clusterSlots)
	}
	replicaOf := map[string]int{}
	for _, n := range c.Nodes(t) {
		switch n.Role {
		case RoleMaster:
			if !slices.Contains(masters, n.Addr) {
				t.Errorf("%s is a master without slots", n.Addr)
			}
		case RoleReplica:
			if !n.LinkUp {
				t.Errorf("replica %s is not in sync", n.Addr)
			}
			replicaOf[n.Master]++
		default:
			t.Errorf("node %s is %s", n.Addr, n.Role)
		}
	}
	for _, m := range masters {
		if replicaOf[m] != 1 {
			t.Errorf("master %s has %d replicas, want 1", m, replicaOf[m])
		}
	}

	// The URL is one ikq reads, and its clients reach every slot.
	cfg, err := redisurl.Parse(c.URL())
	if err != nil {
		t.Fatalf("redisurl.Parse(%q): %v", c.URL(), err)
	}
	if cfg.Kind != redisurl.Cluster || !slices.Equal(cfg.Addrs, c.Addrs()) {
		t.Errorf("URL %s parses as kind %v with %v", c.URL(), cfg.Kind, cfg.Addrs)
	}
	rdb := cfg.Client()
	defer func() { _ = rdb.Close() }()
	ctx := t.Context()
	keys := map[string]bool{} // a key on each master
	for i := 0; len(keys) < 3 && i < 100; i++ {
		k := fmt.Sprintf("k%d", i)
		if err := rdb.Set(ctx, k, k, 0).Err(); err != nil {
			t.Fatal(err)
		}
		keys[c.MasterOfKey(t, k)] = true
	}
	if len(keys) != 3 {
		t.Errorf("100 keys landed on %d masters", len(keys))
	}
	if slot := c.KeySlot(t, "{jobs}:a"); slot != c.KeySlot(t, "{jobs}:b") {
		t.Errorf("keys with one hash tag are in slots %d and %d", slot, c.KeySlot(t, "{jobs}:b"))
	}
	// A slot moves to another master, keys written afterwards land there.
	slot := c.KeySlot(t, "asynq:{default}:pending")
	from := c.MasterOfSlot(t, slot)
	to := masters[(slices.Index(masters, from)+1)%len(masters)]
	c.MoveSlot(t, slot, to)
	if got := c.MasterOfKey(t, "asynq:{default}:pending"); got != to {
		t.Errorf("after MoveSlot the slot is served by %s, want %s", got, to)
	}
	if err := rdb.Set(ctx, "{default}", "moved", 0).Err(); err != nil {
		t.Errorf("SET in the moved slot: %v", err)
	}
	insp := asynq.NewInspector(cfg.AsynqOpt())
	defer func() { _ = insp.Close() }()
	if _, err := insp.Queues(); err != nil {
		t.Errorf("asynq on the cluster: %v", err)
	}
}

// TestClusterFailover kills the master of a key: its replica takes over with the
// key, and the old master, restarted, comes back as the new one's replica.
func TestClusterFailover(t *testing.T) {
	t.Parallel()
	needServer(t)
	c := NewCluster(t, ClusterOptions{})
	rdb := c.Client(t)
	ctx := t.Context()
	if err := rdb.Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	old := c.MasterOfKey(t, "kept")
	// WAIT on the key's master: the replica has the write before the kill.
	if n, err := rdb.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Skipf("WAIT through the cluster client: %d, %v", n, err)
	}
	var replica string
	for _, n := range c.Nodes(t) {
		if n.Role == RoleReplica && n.Master == old {
			replica = n.Addr
		}
	}
	if replica == "" {
		t.Fatalf("%s has no replica: %+v", old, c.Nodes(t))
	}
	slots := c.Slots(t, old)

	c.Kill(t, old)
	if c.Up(t, old) {
		t.Error("Up after Kill")
	}
	direct := redis.NewClient(&redis.Options{Addr: old, MaxRetries: -1})
	defer func() { _ = direct.Close() }()
	if err := direct.Ping(ctx).Err(); err == nil {
		t.Fatalf("%s answers after Kill", old)
	}
	killed := time.Now()
	promoted := c.WaitPromoted(t, old, 30*time.Second)
	t.Logf("%s took over from %s %s after the kill", promoted, old, time.Since(killed).Round(time.Millisecond))
	if promoted != replica {
		t.Errorf("%s took over, want %s's replica %s", promoted, old, replica)
	}
	if got := c.MasterOfKey(t, "kept"); got != promoted {
		t.Errorf("MasterOfKey = %s, want %s", got, promoted)
	}
	if got := c.Slots(t, promoted); !slices.Equal(got, slots) {
		t.Errorf("%s serves %v, want the %v of %s", promoted, got, slots, old)
	}
	// A new client: how ikq's clients follow a failover is not this package's to test.
	rdb = c.Client(t)
	if v, err := rdb.Get(ctx, "kept").Result(); err != nil || v != "yes" {
		t.Errorf("GET kept after the failover: %q, %v", v, err)
	}

	c.Restart(t, old)
	c.WaitHealthy(t, 30*time.Second)
	var back Node
	for _, n := range c.Nodes(t) {
		if n.Addr == old {
			back = n
		}
	}
	if back.Role != RoleReplica || back.Master != promoted || !back.LinkUp {
		t.Errorf("restarted %s is %+v, want a replica of %s in sync", old, back, promoted)
	}
	// Restart refuses a node that runs; Kill one that is down.
	if err := c.member(t, old).restart(); err == nil || !strings.Contains(err.Error(), "running") {
		t.Errorf("restart of a running node: %v", err)
	}
	c.Kill(t, replica) // a master without a replica now: the cluster goes down
	if err := c.member(t, replica).kill(); err == nil {
		t.Error("kill of a killed node succeeded")
	}
	if err := c.Client(t).Set(ctx, "kept", "no", 0).Err(); err == nil || errors.Is(err, redis.Nil) {
		t.Errorf("SET with the key's master and replica killed: %v, want an error", err)
	}
}
