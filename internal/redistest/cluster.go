package redistest

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// clusterSlots is the number of hash slots of Redis Cluster.
const clusterSlots = 16384

// ClusterOptions shape a Cluster. The zero value is three masters with one replica
// each and a node timeout of one second.
type ClusterOptions struct {
	// Masters is the number of masters, which share the slots evenly; 0 means 3.
	Masters int
	// ReplicasPerMaster is the number of replicas of each master; 0 means 1.
	ReplicasPerMaster int
	// NodeTimeout is cluster-node-timeout: how long a master may be unreachable
	// before its replica takes over (about one to three timeouts later); 0 means 1s.
	NodeTimeout time.Duration
	// Args are extra redis-server arguments for every node, after ikq's own.
	Args []string
}

// Cluster is a Redis Cluster of private redis-servers on loopback, owned by one test:
// the masters hold the slots, each replica follows one master and takes over when it
// fails. Nodes keep nothing on disk but their cluster state (nodes.conf), so a node
// restarted after Kill comes back with its identity and no data.
type Cluster struct {
	topology
	opts ClusterOptions

	mu          sync.Mutex
	killedSlots map[string][]SlotRange // what each killed master served
}

// SlotRange is a range of hash slots, both ends included.
type SlotRange struct{ Start, End int }

// NewCluster starts a cluster, assigns the slots (CLUSTER ADDSLOTSRANGE), joins the
// nodes (CLUSTER MEET), attaches the replicas (CLUSTER REPLICATE) and waits until
// every node says cluster_state:ok and every replica is in sync. It skips the test
// if redis-server is not on PATH. The nodes are killed at cleanup, and die with the
// test binary.
func NewCluster(t testing.TB, o ClusterOptions) *Cluster {
	t.Helper()
	path, err := redisproc.LookPath()
	if err != nil {
		t.Skip("redistest: redis-server is not on PATH")
	}
	if o.Masters == 0 {
		o.Masters = 3
	}
	if o.ReplicasPerMaster == 0 {
		o.ReplicasPerMaster = 1
	}
	if o.NodeTimeout == 0 {
		o.NodeTimeout = time.Second
	}
	if o.Masters < 0 || o.ReplicasPerMaster < 0 || o.NodeTimeout < 0 {
		t.Fatalf("redistest: ClusterOptions %+v: negative", o)
	}
	dir := t.TempDir() // removed after the nodes are killed: cleanups run last first
	c := &Cluster{opts: o, killedSlots: map[string][]SlotRange{}}
	t.Cleanup(c.stop)
	n := o.Masters * (1 + o.ReplicasPerMaster)
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("node-%d", i))
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
		m, err := startMember(redisproc.Options{Path: path, Dir: d, Args: o.Args}, 1, func(ports []int) []string {
			return []string{
				"--cluster-enabled", "yes",
				"--cluster-config-file", "nodes.conf",
				"--cluster-node-timeout", strconv.FormatInt(o.NodeTimeout.Milliseconds(), 10),
				"--cluster-port", strconv.Itoa(ports[1]),
				// A replica takes over however long it was cut off: failover tests
				// want a promotion, not a cluster that stays down.
				"--cluster-replica-validity-factor", "0",
				"--cluster-allow-replica-migration", "no",
				"--repl-diskless-sync", "yes",
				"--repl-diskless-sync-delay", "0",
			}
		})
		if err != nil {
			t.Fatalf("redistest: cluster node %d: %v", i, err)
		}
		c.members = append(c.members, m)
	}
	if err := c.form(); err != nil {
		t.Fatalf("redistest: forming a cluster of %d nodes: %v\n%s", n, err, c.logs())
	}
	return c
}

// form makes the started nodes one cluster and waits until it is whole.
func (c *Cluster) form() error {
	masters := c.members[:c.opts.Masters]
	for i, m := range masters {
		// Distinct epochs, as redis-cli --cluster create sets them, so that no
		// collision has to be resolved before the cluster is stable.
		if _, err := m.do("CLUSTER", "SET-CONFIG-EPOCH", i+1); err != nil {
			return fmt.Errorf("%s: CLUSTER SET-CONFIG-EPOCH: %w", m.addr, err)
		}
		lo, hi := i*clusterSlots/len(masters), (i+1)*clusterSlots/len(masters)-1
		if _, err := m.do("CLUSTER", "ADDSLOTSRANGE", lo, hi); err != nil {
			return fmt.Errorf("%s: CLUSTER ADDSLOTSRANGE %d %d: %w", m.addr, lo, hi, err)
		}
	}
	first := c.members[0]
	for _, m := range c.members[1:] {
		if _, err := first.do("CLUSTER", "MEET", "127.0.0.1", m.ports[0], m.ports[1]); err != nil {
			return fmt.Errorf("%s: CLUSTER MEET %s: %w", first.addr, m.addr, err)
		}
	}
	total := strconv.Itoa(len(c.members))
	err := await(topologyStart, func() string {
		for _, m := range c.members {
			ci, err := clusterInfo(m)
			if err != nil {
				return err.Error()
			}
			if known := ci["cluster_known_nodes"]; known != total {
				return fmt.Sprintf("%s knows %s nodes of %s", m.addr, known, total)
			}
			nodes, err := m.text("CLUSTER", "NODES")
			if err != nil {
				return fmt.Sprintf("%s: CLUSTER NODES: %v", m.addr, err)
			}
			if strings.Contains(nodes, "handshake") || strings.Contains(nodes, "noaddr") {
				return fmt.Sprintf("%s is still meeting the others:\n%s", m.addr, nodes)
			}
		}
		return ""
	})
	if err != nil {
		return err
	}
	for j, m := range c.members[len(masters):] {
		master := masters[j%len(masters)]
		id, err := master.text("CLUSTER", "MYID")
		if err != nil {
			return fmt.Errorf("%s: CLUSTER MYID: %w", master.addr, err)
		}
		if _, err := m.do("CLUSTER", "REPLICATE", id); err != nil {
			return fmt.Errorf("%s: CLUSTER REPLICATE %s (%s): %w", m.addr, id, master.addr, err)
		}
	}
	return await(topologyStart, func() string { return c.health(true) })
}

// URL is the REDIS_URL of the cluster: redis-cluster:// and every node.
func (c *Cluster) URL() string { return "redis-cluster://" + strings.Join(c.Addrs(), ",") }

// Addrs are the addresses of every node, masters first as they were started (roles
// change with failovers: see Nodes).
func (c *Cluster) Addrs() []string {
	addrs := make([]string, len(c.members))
	for i, m := range c.members {
		addrs[i] = m.addr
	}
	return addrs
}

// Client is a cluster client of every node, closed at the test's cleanup.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rdb := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs()})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// Nodes says what each node is now, in the order of Addrs.
func (c *Cluster) Nodes(t testing.TB) []Node {
	t.Helper()
	nodes := make([]Node, len(c.members))
	for i, m := range c.members {
		nodes[i] = m.node()
	}
	return nodes
}

// Masters are the nodes that serve slots, as every running node agrees, sorted.
func (c *Cluster) Masters(t testing.TB) []string {
	t.Helper()
	v := c.agreedView(t)
	var owners []string
	for _, o := range v {
		if !slices.Contains(owners, o.owner) {
			owners = append(owners, o.owner)
		}
	}
	slices.Sort(owners)
	return owners
}

// Slots are the slot ranges the master at addr serves, as every running node agrees.
func (c *Cluster) Slots(t testing.TB, addr string) []SlotRange {
	t.Helper()
	return c.agreedView(t).of(addr)
}

// MasterOfSlot is the master that serves slot, as every running node agrees.
func (c *Cluster) MasterOfSlot(t testing.TB, slot int) string {
	t.Helper()
	owner := c.agreedView(t).owner(slot)
	if owner == "" {
		t.Fatalf("redistest: no node serves slot %d", slot)
	}
	return owner
}

// MasterOfKey is the master that serves key's slot.
func (c *Cluster) MasterOfKey(t testing.TB, key string) string {
	t.Helper()
	return c.MasterOfSlot(t, c.KeySlot(t, key))
}

// KeySlot is the hash slot of key (CLUSTER KEYSLOT).
func (c *Cluster) KeySlot(t testing.TB, key string) int {
	t.Helper()
	for _, m := range c.members {
		if !m.up() {
			continue
		}
		v, err := m.do("CLUSTER", "KEYSLOT", key)
		if err != nil {
			continue
		}
		if n, ok := v.(int64); ok {
			return int(n)
		}
	}
	t.Fatalf("redistest: no node answered CLUSTER KEYSLOT %q", key)
	return 0
}

// MoveSlot hands an empty slot to the master at to (CLUSTER SETSLOT … NODE on every
// node, then CLUSTER BUMPEPOCH on the new owner so that its claim wins), and waits
// until every node agrees. It fails the test if the slot holds keys: this lays out a
// cluster before a test writes to it, it does not migrate data.
func (c *Cluster) MoveSlot(t testing.TB, slot int, to string) {
	t.Helper()
	from := c.MasterOfSlot(t, slot)
	if from == to {
		return
	}
	owner := c.member(t, from)
	if n, err := owner.do("CLUSTER", "COUNTKEYSINSLOT", slot); err != nil || n != int64(0) {
		t.Fatalf("redistest: MoveSlot %d: %s holds %v keys in it (%v)", slot, from, n, err)
	}
	target := c.member(t, to)
	id, err := target.text("CLUSTER", "MYID")
	if err != nil {
		t.Fatalf("redistest: MoveSlot: %s: CLUSTER MYID: %v", to, err)
	}
	// The new owner first, then the old one, then the other masters, as redis-cli
	// does; replicas learn it from their masters.
	order := []*member{target, owner}
	for _, m := range c.members {
		if m != target && m != owner && m.node().Role == RoleMaster {
			order = append(order, m)
		}
	}
	for _, m := range order {
		if _, err := m.do("CLUSTER", "SETSLOT", slot, "NODE", id); err != nil {
			t.Fatalf("redistest: MoveSlot: %s: CLUSTER SETSLOT %d NODE %s: %v", m.addr, slot, id, err)
		}
	}
	if _, err := target.do("CLUSTER", "BUMPEPOCH"); err != nil {
		t.Fatalf("redistest: MoveSlot: %s: CLUSTER BUMPEPOCH: %v", to, err)
	}
	err = await(topologyStart, func() string {
		if why := c.health(false); why != "" {
			return why
		}
		for _, m := range c.members {
			if !m.up() {
				continue
			}
			v, err := slotView(m)
			if err != nil {
				return err.Error()
			}
			if o := v.owner(slot); o != to {
				return fmt.Sprintf("%s maps slot %d to %s", m.addr, slot, o)
			}
		}
		return ""
	})
	if err != nil {
		t.Fatalf("redistest: MoveSlot %d to %s: %v", slot, to, err)
	}
}

// Kill ends the node at addr with SIGKILL (see topology.Kill). The slots it served
// as a master are remembered for WaitPromoted.
func (c *Cluster) Kill(t testing.TB, addr string) {
	t.Helper()
	slots := c.agreedView(t).of(addr)
	c.mu.Lock()
	c.killedSlots[addr] = slots
	c.mu.Unlock()
	c.topology.Kill(t, addr)
}

// WaitPromoted waits, at most within, until the slots that the killed master at old
// served are served by one other node, which says it is a master, as every running
// node agrees, each with cluster_state:ok. It returns that node's address.
func (c *Cluster) WaitPromoted(t testing.TB, old string, within time.Duration) string {
	t.Helper()
	c.mu.Lock()
	slots := c.killedSlots[old]
	c.mu.Unlock()
	if len(slots) == 0 {
		t.Fatalf("redistest: WaitPromoted: %s served no slots when it was killed", old)
	}
	var promoted string
	err := await(within, func() string {
		owner := ""
		for _, m := range c.members {
			if !m.up() {
				continue
			}
			ci, err := clusterInfo(m)
			if err != nil {
				return err.Error()
			}
			if st := ci["cluster_state"]; st != "ok" {
				return fmt.Sprintf("%s: cluster_state %s", m.addr, st)
			}
			v, err := slotView(m)
			if err != nil {
				return err.Error()
			}
			for _, r := range slots {
				for _, s := range []int{r.Start, r.End} {
					o := v.owner(s)
					if o == old || o == "" {
						return fmt.Sprintf("%s still maps slot %d to %q", m.addr, s, o)
					}
					if owner != "" && o != owner {
						return fmt.Sprintf("nodes disagree on slot %d: %s and %s", s, owner, o)
					}
					owner = o
				}
			}
		}
		if owner == "" {
			return "no node runs"
		}
		if n := c.member(t, owner).node(); n.Role != RoleMaster {
			return fmt.Sprintf("%s serves the slots but says it is %s", owner, n.Role)
		}
		promoted = owner
		return ""
	})
	if err != nil {
		t.Fatalf("redistest: no replica took over from %s: %v\n%s", old, err, c.logs())
	}
	return promoted
}

// WaitHealthy waits, at most within, until every running node says cluster_state:ok
// with every slot served, all agree on who serves which slot, each serving node is a
// running master, and each running replica is connected to its master and in sync.
func (c *Cluster) WaitHealthy(t testing.TB, within time.Duration) {
	t.Helper()
	if err := await(within, func() string { return c.health(false) }); err != nil {
		t.Fatalf("redistest: cluster not healthy: %v\n%s", err, c.logs())
	}
}

// health says what keeps the cluster from being healthy, or "". full also wants
// every master to have all its replicas.
func (c *Cluster) health(full bool) string {
	total := strconv.Itoa(len(c.members))
	var agreed view
	for _, m := range c.members {
		if !m.up() {
			continue
		}
		f, err := clusterInfo(m)
		if err != nil {
			return err.Error()
		}
		switch {
		case f["cluster_state"] != "ok":
			return fmt.Sprintf("%s: cluster_state %s", m.addr, f["cluster_state"])
		case f["cluster_slots_ok"] != strconv.Itoa(clusterSlots):
			return fmt.Sprintf("%s: cluster_slots_ok %s", m.addr, f["cluster_slots_ok"])
		case f["cluster_known_nodes"] != total:
			return fmt.Sprintf("%s knows %s nodes of %s", m.addr, f["cluster_known_nodes"], total)
		}
		if why := agree(&agreed, m); why != "" {
			return why
		}
		if n := m.node(); n.Role == RoleReplica && !n.LinkUp {
			return fmt.Sprintf("replica %s is not in sync with %s", m.addr, n.Master)
		}
	}
	if agreed == nil {
		return "no node runs"
	}
	nodes := make([]Node, len(c.members))
	for i, m := range c.members {
		nodes[i] = m.node()
	}
	for _, owner := range agreed.owners() {
		i := slices.IndexFunc(nodes, func(n Node) bool { return n.Addr == owner })
		if i < 0 || nodes[i].Role != RoleMaster {
			return fmt.Sprintf("%s serves slots but is not a running master", owner)
		}
		replicas := 0
		for _, n := range nodes {
			if n.Role == RoleReplica && n.Master == owner && n.LinkUp {
				replicas++
			}
		}
		if full && replicas < c.opts.ReplicasPerMaster {
			return fmt.Sprintf("master %s has %d replicas in sync, want %d", owner, replicas, c.opts.ReplicasPerMaster)
		}
	}
	return ""
}

// agreedView is the slot map every running node agrees on, waiting a little for a
// change to spread.
func (c *Cluster) agreedView(t testing.TB) view {
	t.Helper()
	var v view
	err := await(10*time.Second, func() string {
		v = nil
		for _, m := range c.members {
			if !m.up() {
				continue
			}
			if why := agree(&v, m); why != "" {
				return why
			}
		}
		if v == nil {
			return "no node runs"
		}
		return ""
	})
	if err != nil {
		t.Fatalf("redistest: cluster slot map: %v", err)
	}
	return v
}

// view is a node's slot map: who serves each range, sorted by range.
type view []ownedRange

type ownedRange struct {
	SlotRange
	owner string
}

func (v view) owner(slot int) string {
	for _, r := range v {
		if r.Start <= slot && slot <= r.End {
			return r.owner
		}
	}
	return ""
}

func (v view) of(addr string) []SlotRange {
	var rs []SlotRange
	for _, r := range v {
		if r.owner == addr {
			rs = append(rs, r.SlotRange)
		}
	}
	return rs
}

func (v view) owners() []string {
	var o []string
	for _, r := range v {
		if !slices.Contains(o, r.owner) {
			o = append(o, r.owner)
		}
	}
	return o
}

// agree reads m's slot map into *agreed when it is the first, and otherwise says why
// it differs ("" when it is the same).
func agree(agreed *view, m *member) string {
	v, err := slotView(m)
	switch {
	case err != nil:
		return err.Error()
	case *agreed == nil:
		*agreed = v
	case !slices.Equal(*agreed, v):
		return fmt.Sprintf("nodes disagree on the slots: %v and %s's %v", *agreed, m.addr, v)
	}
	return ""
}

// slotView asks the node for its slot map (CLUSTER SHARDS): each range's owner is
// its shard's master.
func slotView(m *member) (view, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	shards, err := m.admin.ClusterShards(ctx).Result()
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER SHARDS: %w", m.addr, err)
	}
	var v view
	for _, sh := range shards {
		owner := ""
		for _, n := range sh.Nodes {
			if n.Role == "master" {
				owner = net.JoinHostPort(n.IP, strconv.FormatInt(n.Port, 10))
			}
		}
		for _, r := range sh.Slots {
			v = append(v, ownedRange{SlotRange{int(r.Start), int(r.End)}, owner})
		}
	}
	slices.SortFunc(v, func(a, b ownedRange) int { return a.Start - b.Start })
	return v, nil
}

// clusterInfo is a node's CLUSTER INFO as fields.
func clusterInfo(m *member) (map[string]string, error) {
	ci, err := m.text("CLUSTER", "INFO")
	if err != nil {
		return nil, fmt.Errorf("%s: CLUSTER INFO: %w", m.addr, err)
	}
	return fields(ci), nil
}
