package redistest

import (
	"fmt"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/redisurl"
)

// TestSentinel: the group starts whole, its URL is one ikq reads, a killed master is
// replaced by its replica with the data, the old master comes back as a replica, and
// a planned failover swaps the two again.
func TestSentinel(t *testing.T) {
	t.Parallel()
	needServer(t)
	g := NewSentinel(t, SentinelOptions{})
	first := g.Master(t)
	if first != g.DataAddrs()[0] {
		t.Errorf("master %s, want the first data server %s", first, g.DataAddrs()[0])
	}
	roles := map[string]int{}
	for _, n := range g.Nodes(t) {
		roles[n.Role]++
		if n.Role == RoleReplica && (n.Master != first || !n.LinkUp) {
			t.Errorf("replica %+v, want one of %s in sync", n, first)
		}
	}
	if want := map[string]int{RoleMaster: 1, RoleReplica: 1, RoleSentinel: 3}; !maps.Equal(roles, want) {
		t.Errorf("roles %v, want %v", roles, want)
	}

	cfg, err := redisurl.Parse(g.URL())
	if err != nil {
		t.Fatalf("redisurl.Parse(%q): %v", g.URL(), err)
	}
	if cfg.Kind != redisurl.Sentinel || cfg.MasterName != g.MasterName || !slices.Equal(cfg.Addrs, g.SentinelAddrs()) {
		t.Errorf("URL %s parses as %+v", g.URL(), cfg)
	}
	insp := asynq.NewInspector(cfg.AsynqOpt())
	defer func() { _ = insp.Close() }()
	if _, err := insp.Queues(); err != nil {
		t.Errorf("asynq through the Sentinels: %v", err)
	}

	rdb := g.Client(t)
	ctx := t.Context()
	if err := rdb.Set(ctx, "kept", "yes", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if n, err := rdb.Do(ctx, "WAIT", 1, 5000).Int(); err != nil || n != 1 {
		t.Fatalf("WAIT 1: %d, %v", n, err)
	}

	g.Kill(t, first)
	killed := time.Now()
	second := g.WaitFailover(t, first, 30*time.Second)
	t.Logf("%s took over from %s %s after the kill", second, first, time.Since(killed).Round(time.Millisecond))
	if second != g.DataAddrs()[1] {
		t.Errorf("%s took over, want the replica %s", second, g.DataAddrs()[1])
	}
	if v, err := g.Client(t).Get(ctx, "kept").Result(); err != nil || v != "yes" {
		t.Errorf("GET kept after the failover: %q, %v", v, err)
	}

	g.Restart(t, first)
	g.WaitHealthy(t, 30*time.Second)
	// One master and the other its replica in sync, whichever the Sentinels chose:
	// they may have failed back to the restarted server meanwhile.
	if err := await(30*time.Second, func() string {
		master, why := g.agreedMaster()
		if why != "" {
			return why
		}
		other := first
		if master == first {
			other = second
		}
		if n := g.member(t, other).node(); n.Role != RoleReplica || n.Master != master || !n.LinkUp {
			return fmt.Sprintf("%s is %+v, want a replica of %s in sync", other, n, master)
		}
		return ""
	}); err != nil {
		t.Errorf("after restarting %s: %v", first, err)
	}
	second = g.Master(t)
	first = g.DataAddrs()[0]
	if second == first {
		first = g.DataAddrs()[1]
	}

	g.Failover(t)
	planned := time.Now()
	if back := g.WaitFailover(t, second, 30*time.Second); back != first {
		t.Errorf("the planned failover promoted %s, want %s", back, first)
	}
	t.Logf("planned failover done in %s", time.Since(planned).Round(time.Millisecond))
	// Not waited for here: the Sentinels demote the old master only after their next
	// INFO to it and eight seconds more (10-20 s); the failover tests measure that.
	if v, err := g.Client(t).Get(ctx, "kept").Result(); err != nil || v != "yes" {
		t.Errorf("GET kept after the planned failover: %q, %v", v, err)
	}
}
