package redistest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// SentinelOptions shape a SentinelGroup. The zero value is a master named "ikq" with
// one replica, watched by three Sentinels of which two must agree that the master is
// down, after one second without an answer.
type SentinelOptions struct {
	// MasterName is the name the Sentinels know the master by; "" means "ikq".
	MasterName string
	// Replicas is the number of replicas; 0 means 1.
	Replicas int
	// Sentinels is the number of Sentinels; 0 means 3.
	Sentinels int
	// Quorum is how many Sentinels must find the master down; 0 means a majority.
	Quorum int
	// DownAfter is down-after-milliseconds: how long the master may not answer
	// before a Sentinel finds it down; 0 means 1s.
	DownAfter time.Duration
	// FailoverTimeout is failover-timeout: how long a failover may take before it
	// is abandoned and tried again (after twice as long); 0 means 5s.
	FailoverTimeout time.Duration
	// Args are extra redis-server arguments for the master and replicas.
	Args []string
}

// SentinelGroup is a master, its replicas and the Sentinels that watch them, private
// redis-servers on loopback owned by one test. The data servers keep nothing on
// disk: one restarted after Kill comes back empty, and the Sentinels make it a
// replica of the master of the moment.
type SentinelGroup struct {
	topology
	// MasterName is the name the Sentinels know the master by.
	MasterName string

	opts      SentinelOptions
	data      []*member // the first was started as the master
	sentinels []*member
}

// NewSentinel starts a master, its replicas (replicaof) and, once the replicas are in
// sync, the Sentinels, each with a configuration file of its own that it rewrites;
// it waits until every Sentinel knows the master, its replicas and the other
// Sentinels. It skips the test if redis-server is not on PATH. Every server is killed
// at cleanup, and dies with the test binary.
func NewSentinel(t testing.TB, o SentinelOptions) *SentinelGroup {
	t.Helper()
	path, err := redisproc.LookPath()
	if err != nil {
		t.Skip("redistest: redis-server is not on PATH")
	}
	if o.MasterName == "" {
		o.MasterName = "ikq"
	}
	if o.Replicas == 0 {
		o.Replicas = 1
	}
	if o.Sentinels == 0 {
		o.Sentinels = 3
	}
	if o.Quorum == 0 {
		o.Quorum = o.Sentinels/2 + 1
	}
	if o.DownAfter == 0 {
		o.DownAfter = time.Second
	}
	if o.FailoverTimeout == 0 {
		o.FailoverTimeout = 5 * time.Second
	}
	if o.Replicas < 0 || o.Sentinels < 0 || o.Quorum < 0 || o.Quorum > o.Sentinels || o.DownAfter < 0 || o.FailoverTimeout < 0 {
		t.Fatalf("redistest: SentinelOptions %+v: negative, or a quorum larger than the Sentinels", o)
	}
	dir := t.TempDir() // removed after the servers are killed: cleanups run last first
	g := &SentinelGroup{MasterName: o.MasterName, opts: o}
	t.Cleanup(g.stop)
	mkdir := func(name string) string {
		d := filepath.Join(dir, name)
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		return d
	}
	replication := func(extra ...string) func([]int) []string {
		return func([]int) []string {
			return append([]string{"--repl-diskless-sync", "yes", "--repl-diskless-sync-delay", "0"}, extra...)
		}
	}

	master, err := startMember(redisproc.Options{Path: path, Dir: mkdir("data-0"), Args: o.Args}, 0, replication())
	if err != nil {
		t.Fatalf("redistest: master: %v", err)
	}
	g.add(master, false)
	for i := range o.Replicas {
		r, err := startMember(redisproc.Options{Path: path, Dir: mkdir(fmt.Sprintf("data-%d", i+1)), Args: o.Args}, 0,
			replication("--replicaof", "127.0.0.1", strconv.Itoa(master.ports[0])))
		if err != nil {
			t.Fatalf("redistest: replica %d: %v", i+1, err)
		}
		g.add(r, false)
	}
	// A Sentinel finds the replicas in the master's INFO: only those already
	// attached when it starts are known at once, the others in ten seconds.
	if err := await(topologyStart, func() string { return g.dataHealth(master.addr) }); err != nil {
		t.Fatalf("redistest: replicas of %s: %v\n%s", master.addr, err, g.logs())
	}
	for i := range o.Sentinels {
		d := mkdir(fmt.Sprintf("sentinel-%d", i))
		conf := filepath.Join(d, "sentinel.conf")
		text := fmt.Sprintf("sentinel monitor %[1]s 127.0.0.1 %[2]d %[3]d\n"+
			"sentinel down-after-milliseconds %[1]s %[4]d\n"+
			"sentinel failover-timeout %[1]s %[5]d\n"+
			"sentinel parallel-syncs %[1]s 1\n",
			o.MasterName, master.ports[0], o.Quorum, o.DownAfter.Milliseconds(), o.FailoverTimeout.Milliseconds())
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		s, err := startMember(redisproc.Options{Path: path, Dir: d, ConfigFile: conf}, 0,
			func([]int) []string { return []string{"--sentinel"} })
		if err != nil {
			t.Fatalf("redistest: Sentinel %d: %v", i, err)
		}
		g.add(s, true)
	}
	if err := await(topologyStart, g.health); err != nil {
		t.Fatalf("redistest: Sentinel group not ready: %v\n%s", err, g.logs())
	}
	return g
}

func (g *SentinelGroup) add(m *member, sentinel bool) {
	g.members = append(g.members, m)
	if sentinel {
		g.sentinels = append(g.sentinels, m)
	} else {
		g.data = append(g.data, m)
	}
}

// URL is the REDIS_URL of the group: redis-sentinel://, every Sentinel, the master's
// name.
func (g *SentinelGroup) URL() string {
	return "redis-sentinel://" + strings.Join(g.SentinelAddrs(), ",") + "?master=" + g.MasterName
}

// DataAddrs are the addresses of the master and replicas as they were started (the
// first was the master; roles change with failovers: see Master and Nodes).
func (g *SentinelGroup) DataAddrs() []string { return addrs(g.data) }

// SentinelAddrs are the addresses of the Sentinels.
func (g *SentinelGroup) SentinelAddrs() []string { return addrs(g.sentinels) }

func addrs(ms []*member) []string {
	a := make([]string, len(ms))
	for i, m := range ms {
		a[i] = m.addr
	}
	return a
}

// Client is a failover client of the group (it asks the Sentinels for the master),
// closed at the test's cleanup.
func (g *SentinelGroup) Client(t testing.TB) *redis.Client {
	t.Helper()
	rdb := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: g.MasterName, SentinelAddrs: g.SentinelAddrs()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Nodes says what each server is now: the data servers, then the Sentinels.
func (g *SentinelGroup) Nodes(t testing.TB) []Node {
	t.Helper()
	nodes := make([]Node, len(g.members))
	for i, m := range g.members {
		nodes[i] = m.node()
	}
	return nodes
}

// Master is the master's address as every running Sentinel reports it.
func (g *SentinelGroup) Master(t testing.TB) string {
	t.Helper()
	var addr string
	err := await(10*time.Second, func() string {
		var why string
		addr, why = g.agreedMaster()
		return why
	})
	if err != nil {
		t.Fatalf("redistest: the Sentinels' master: %v", err)
	}
	return addr
}

// Restart starts a killed server again on its address (see topology.Restart). A
// data server comes back empty as a replica of the master the Sentinels report, as
// an operator would start it: not as a master that would take writes until the
// Sentinels demote it. A Sentinel comes back with the state it wrote to its file.
func (g *SentinelGroup) Restart(t testing.TB, addr string) {
	t.Helper()
	m := g.member(t, addr)
	var extra []string
	if slices.Contains(g.data, m) {
		// Wait for the Sentinels to agree on the master: a data server restarted
		// without --replicaof comes back a master of its own until they notice.
		var master string
		if err := await(30*time.Second, func() (why string) {
			master, why = g.agreedMaster()
			return why
		}); err != nil {
			t.Fatalf("redistest: Restart: %v", err)
		}
		if master != addr {
			host, port, _ := strings.Cut(master, ":")
			extra = []string{"--replicaof", host, port}
		}
	}
	if err := m.restart(extra...); err != nil {
		t.Fatalf("redistest: Restart: %v", err)
	}
}

// Failover asks a Sentinel for a planned failover (SENTINEL FAILOVER): a replica is
// promoted without the master being down, and the old master is made its replica.
func (g *SentinelGroup) Failover(t testing.TB) {
	t.Helper()
	for _, s := range g.sentinels {
		if !s.up() {
			continue
		}
		if _, err := s.do("SENTINEL", "FAILOVER", g.MasterName); err != nil {
			t.Fatalf("redistest: %s: SENTINEL FAILOVER %s: %v", s.addr, g.MasterName, err)
		}
		return
	}
	t.Fatal("redistest: Failover: no Sentinel runs")
}

// WaitFailover waits, at most within, until every running Sentinel reports a master
// other than old, and that server says it is a master. It returns its address.
func (g *SentinelGroup) WaitFailover(t testing.TB, old string, within time.Duration) string {
	t.Helper()
	var promoted string
	err := await(within, func() string {
		addr, why := g.agreedMaster()
		switch {
		case why != "":
			return why
		case addr == old:
			return "the Sentinels still report " + old
		}
		m := g.member(t, addr)
		if n := m.node(); n.Role != RoleMaster {
			return fmt.Sprintf("the Sentinels report %s, which says it is %s", addr, n.Role)
		}
		promoted = addr
		return ""
	})
	if err != nil {
		t.Fatalf("redistest: no failover from %s: %v\n%s", old, err, g.logs())
	}
	return promoted
}

// WaitHealthy waits, at most within, until the Sentinels agree on a running master
// and see it up, with no failover in progress; every running data server but the
// master is its replica, in sync, and seen as such by every running Sentinel.
func (g *SentinelGroup) WaitHealthy(t testing.TB, within time.Duration) {
	t.Helper()
	if err := await(within, g.health); err != nil {
		t.Fatalf("redistest: Sentinel group not healthy: %v\n%s", err, g.logs())
	}
}

// agreedMaster is the master every running Sentinel reports, or why there is none.
func (g *SentinelGroup) agreedMaster() (addr, why string) {
	for _, s := range g.sentinels {
		if !s.up() {
			continue
		}
		v, err := s.do("SENTINEL", "GET-MASTER-ADDR-BY-NAME", g.MasterName)
		if err != nil {
			return "", fmt.Sprintf("%s: SENTINEL GET-MASTER-ADDR-BY-NAME: %v", s.addr, err)
		}
		hp, ok := v.([]any)
		if !ok || len(hp) != 2 {
			return "", fmt.Sprintf("%s: SENTINEL GET-MASTER-ADDR-BY-NAME answered %v", s.addr, v)
		}
		a := fmt.Sprintf("%v:%v", hp[0], hp[1])
		if addr != "" && a != addr {
			return "", fmt.Sprintf("the Sentinels disagree: %s and %s", addr, a)
		}
		addr = a
	}
	if addr == "" {
		return "", "no Sentinel runs"
	}
	return addr, ""
}

// health says what keeps the group from being healthy, or "".
func (g *SentinelGroup) health() string {
	master, why := g.agreedMaster()
	if why != "" {
		return why
	}
	if why := g.dataHealth(master); why != "" {
		return why
	}
	replicas := 0
	for _, m := range g.data {
		if m.up() && m.addr != master {
			replicas++
		}
	}
	for _, s := range g.sentinels {
		if !s.up() {
			continue
		}
		st, err := sentinelState(s, "MASTER", g.MasterName)
		if err != nil {
			return err.Error()
		}
		if len(st) != 1 {
			return fmt.Sprintf("%s: SENTINEL MASTER answered %d entries", s.addr, len(st))
		}
		if f := st[0]["flags"]; f != "master" {
			return fmt.Sprintf("%s sees the master %s as %q", s.addr, master, f)
		}
		if n := st[0]["num-other-sentinels"]; n != strconv.Itoa(len(g.sentinels)-1) {
			return fmt.Sprintf("%s knows %s other Sentinels of %d", s.addr, n, len(g.sentinels)-1)
		}
		reps, err := sentinelState(s, "REPLICAS", g.MasterName)
		if err != nil {
			return err.Error()
		}
		seen := 0
		for _, r := range reps {
			addr := r["ip"] + ":" + r["port"]
			if !g.runs(addr) {
				continue // a killed server the Sentinel still lists as down
			}
			if r["flags"] != "slave" || r["master-link-status"] != "ok" {
				return fmt.Sprintf("%s sees replica %s as %q, link %s", s.addr, addr, r["flags"], r["master-link-status"])
			}
			seen++
		}
		if seen != replicas {
			return fmt.Sprintf("%s sees %d running replicas of %d", s.addr, seen, replicas)
		}
	}
	return ""
}

// dataHealth says what keeps master and the running data servers from being one
// master with replicas in sync, or "".
func (g *SentinelGroup) dataHealth(master string) string {
	for _, m := range g.data {
		if !m.up() {
			continue
		}
		n := m.node()
		switch {
		case m.addr == master && n.Role != RoleMaster:
			return fmt.Sprintf("the master %s says it is %s", master, n.Role)
		case m.addr != master && (n.Role != RoleReplica || n.Master != master || !n.LinkUp):
			return fmt.Sprintf("%s is %+v, want a replica of %s in sync", m.addr, n, master)
		}
	}
	if !g.runs(master) {
		return fmt.Sprintf("the master %s is down", master)
	}
	return ""
}

// runs reports whether addr is a running data server of the group.
func (g *SentinelGroup) runs(addr string) bool {
	for _, m := range g.data {
		if m.addr == addr {
			return m.up()
		}
	}
	return false
}

// sentinelState sends SENTINEL sub name and returns its entries as fields: MASTER
// answers one, REPLICAS and SENTINELS a list.
func sentinelState(s *member, sub, name string) ([]map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := s.admin.Do(ctx, "SENTINEL", sub, name).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: SENTINEL %s %s: %w", s.addr, sub, name, err)
	}
	list, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s: SENTINEL %s answered %T", s.addr, sub, v)
	}
	if sub == "MASTER" {
		list = []any{list}
	}
	out := make([]map[string]string, 0, len(list))
	for _, e := range list {
		kv, ok := e.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: SENTINEL %s: an entry is %T", s.addr, sub, e)
		}
		f := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			f[fmt.Sprint(kv[i])] = fmt.Sprint(kv[i+1])
		}
		out = append(out, f)
	}
	return out, nil
}
