package redistest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// Roles a node of a topology reports in Node.Role.
const (
	RoleMaster   = "master"
	RoleReplica  = "replica"
	RoleSentinel = "sentinel"
	RoleDown     = "down" // killed, or not answering
)

// Node is what one server of a topology says of itself at one moment.
type Node struct {
	Addr string
	Role string // RoleMaster, RoleReplica, RoleSentinel or RoleDown
	// Master is a replica's master (host:port), as the replica reports it.
	Master string
	// LinkUp says a replica is connected to its master and not in a full sync.
	LinkUp bool
}

const (
	// topologyStart bounds the wait for a new topology to be whole and in sync.
	topologyStart = 60 * time.Second
	// topologyPoll is how often the waits of a topology look again.
	topologyPoll = 50 * time.Millisecond
	// startTries is how many pairs of free ports a node tries before giving up.
	startTries = 5
)

// member is one redis-server of a topology, which can be killed and started again
// on its ports, from its directory, with its options.
type member struct {
	addr  string
	opts  redisproc.Options
	ports []int // its port, and a cluster node's bus port: held while it is down

	mu       sync.Mutex
	proc     *redisproc.Process // nil while down
	reserved []io.Closer
	admin    *redis.Client
}

// startMember starts a server on free ports. args builds its arguments from the
// ports chosen (a cluster node names its bus port); extra is how many ports besides
// the server's own it needs.
func startMember(o redisproc.Options, extra int, args func(ports []int) []string) (*member, error) {
	var errs []error
	for range startTries {
		ports := make([]int, 0, 1+extra)
		for len(ports) < 1+extra {
			p, err := redisproc.FreePort()
			if err != nil {
				return nil, err
			}
			if !slices.Contains(ports, p) {
				ports = append(ports, p)
			}
		}
		opts := o
		opts.Port = ports[0]
		opts.Args = append(args(ports), o.Args...) // the caller's last: they may override
		p, err := redisproc.Start(opts)
		if err != nil {
			errs = append(errs, err) // a port taken meanwhile: try others
			continue
		}
		m := &member{addr: p.Addr(), opts: opts, ports: ports, proc: p}
		m.admin = redis.NewClient(&redis.Options{
			Addr: m.addr, DialTimeout: 500 * time.Millisecond,
			ReadTimeout: 2 * time.Second, WriteTimeout: 2 * time.Second,
			MaxRetries: -1, PoolSize: 2,
			Protocol: 2, DisableIdentity: true,
		})
		return m, nil
	}
	return nil, errors.Join(errs...)
}

// kill ends the server with SIGKILL and holds its ports, so that clients are
// refused rather than reach a stranger's server.
func (m *member) kill() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return fmt.Errorf("%s is already down", m.addr)
	}
	m.proc.Kill()
	m.proc = nil
	for _, p := range m.ports {
		r, err := redisproc.ReservePort(p)
		if err != nil {
			continue // only a stranger taking the port this instant; restart will say so
		}
		m.reserved = append(m.reserved, r)
	}
	return nil
}

// restart starts a killed server again on its ports, from its directory, with extra
// arguments after its own for this start only.
func (m *member) restart(extra ...string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		return fmt.Errorf("%s is running", m.addr)
	}
	m.unreserve()
	opts := m.opts
	opts.Args = append(slices.Clip(opts.Args), extra...)
	p, err := redisproc.Start(opts)
	if err != nil {
		return fmt.Errorf("restart %s: %w", m.addr, err)
	}
	m.proc = p
	return nil
}

// stop ends the server for good (cleanup).
func (m *member) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		m.proc.Kill() // nothing is kept: no need to wait for a clean shutdown
		m.proc = nil
	}
	m.unreserve()
	_ = m.admin.Close()
}

func (m *member) unreserve() {
	for _, r := range m.reserved {
		_ = r.Close()
	}
	m.reserved = nil
}

func (m *member) up() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.proc != nil
}

// log is the tail of the server's output, for failure messages.
func (m *member) log() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return "(down)"
	}
	return m.proc.Log()
}

// do sends one command to the server (2s deadline), without retries.
func (m *member) do(args ...any) (any, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	return m.admin.Do(ctx, args...).Result()
}

// text sends one command whose answer is text (INFO, CLUSTER INFO, CLUSTER NODES).
func (m *member) text(args ...any) (string, error) {
	v, err := m.do(args...)
	if err != nil {
		return "", err
	}
	s, ok := v.(string)
	if !ok {
		return "", fmt.Errorf("%v answered %T, want text", args[0], v)
	}
	return s, nil
}

// info is one INFO section of the server as fields.
func (m *member) info(section string) (map[string]string, error) {
	s, err := m.text("INFO", section)
	if err != nil {
		return nil, err
	}
	return fields(s), nil
}

// fields parses "key:value" lines (INFO, CLUSTER INFO).
func fields(s string) map[string]string {
	f := map[string]string{}
	for line := range strings.Lines(s) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			f[k] = v
		}
	}
	return f
}

// node is what the server says of its role.
func (m *member) node() Node {
	n := Node{Addr: m.addr, Role: RoleDown}
	if !m.up() {
		return n
	}
	server, err := m.info("server")
	if err != nil {
		return n
	}
	if server["redis_mode"] == "sentinel" {
		n.Role = RoleSentinel
		return n
	}
	repl, err := m.info("replication")
	if err != nil {
		return n
	}
	switch repl["role"] {
	case "master":
		n.Role = RoleMaster
	case "slave":
		n.Role = RoleReplica
		n.Master = repl["master_host"] + ":" + repl["master_port"]
		n.LinkUp = repl["master_link_status"] == "up" && repl["master_sync_in_progress"] == "0"
	}
	return n
}

// await polls cond every topologyPoll until it returns "" (met), at most within; it
// then returns an error with what cond last said.
func await(within time.Duration, cond func() string) error {
	deadline := time.Now().Add(within)
	for {
		why := cond()
		if why == "" {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %s: %s", within, why)
		}
		time.Sleep(topologyPoll)
	}
}

// topology is what Cluster and SentinelGroup share: their servers by address.
type topology struct {
	members []*member
}

func (tp *topology) member(t testing.TB, addr string) *member {
	t.Helper()
	for _, m := range tp.members {
		if m.addr == addr {
			return m
		}
	}
	t.Fatalf("redistest: no server %s in this topology", addr)
	return nil
}

// Kill ends the server at addr with SIGKILL, as a crash or a lost host would: it
// keeps nothing (no persistence), and its ports stay held while it is down, so that
// clients get "connection refused".
func (tp *topology) Kill(t testing.TB, addr string) {
	t.Helper()
	if err := tp.member(t, addr).kill(); err != nil {
		t.Fatalf("redistest: Kill: %v", err)
	}
}

// Restart starts a killed server again on its address, empty, with its
// configuration (a cluster node keeps its id, a Sentinel its state), and waits until
// it answers PING. It rejoins by itself: wait for WaitHealthy to see it whole.
func (tp *topology) Restart(t testing.TB, addr string) {
	t.Helper()
	if err := tp.member(t, addr).restart(); err != nil {
		t.Fatalf("redistest: Restart: %v", err)
	}
}

// Up reports whether the server at addr runs (it has not been killed, or has been
// restarted since).
func (tp *topology) Up(t testing.TB, addr string) bool {
	t.Helper()
	return tp.member(t, addr).up()
}

// logs are the tails of the output of the servers that run, for failure messages.
func (tp *topology) logs() string {
	var b strings.Builder
	for _, m := range tp.members {
		log := m.log()
		if len(log) > 3000 {
			log = log[len(log)-3000:]
		}
		fmt.Fprintf(&b, "--- %s ---\n%s\n", m.addr, log)
	}
	return b.String()
}

func (tp *topology) stop() {
	var wg sync.WaitGroup
	for _, m := range tp.members {
		wg.Go(m.stop)
	}
	wg.Wait()
}
