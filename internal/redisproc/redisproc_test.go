package redisproc

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func needServer(t *testing.T) string {
	t.Helper()
	path, err := LookPath()
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	return path
}

// mustStart is Start that fails the test, with the server stopped at cleanup.
func mustStart(t *testing.T, o Options) *Process {
	t.Helper()
	p, err := Start(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	return p
}

// closed waits up to d for c to be closed.
func closed(c <-chan struct{}, d time.Duration) bool {
	select {
	case <-c:
		return true
	default:
	}
	select {
	case <-c:
		return true
	case <-time.After(d):
		return false
	}
}

// info is one field of an INFO section of the server at addr.
func info(t *testing.T, addr, section, field string) string {
	t.Helper()
	s, err := command(addr, "INFO", section)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(s) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	t.Fatalf("INFO %s has no %s", section, field)
	return ""
}

func TestStartPingStop(t *testing.T) {
	t.Parallel()
	needServer(t)
	p := mustStart(t, Options{})
	if want := net.JoinHostPort("127.0.0.1", strconv.Itoa(p.Port())); p.Addr() != want || p.Port() == 0 {
		t.Errorf("Addr() = %q, Port() = %d", p.Addr(), p.Port())
	}
	if err := Ping(p.Addr()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if got := info(t, p.Addr(), "server", "process_id"); got != strconv.Itoa(p.cmd.Process.Pid) {
		t.Errorf("the server on %s is pid %s, want the started %d", p.Addr(), got, p.cmd.Process.Pid)
	}
	if !strings.Contains(strings.ToLower(p.Log()), "ready to accept connections") {
		t.Errorf("Log() lacks the server's start-up lines:\n%s", p.Log())
	}
	// The defaults: no persistence, 16 databases.
	if got := info(t, p.Addr(), "persistence", "aof_enabled"); got != "0" {
		t.Errorf("aof_enabled = %s, want 0", got)
	}
	if _, err := command(p.Addr(), "SELECT", "15"); err != nil {
		t.Errorf("SELECT 15: %v", err)
	}
	if _, err := command(p.Addr(), "SELECT", "16"); err == nil {
		t.Error("SELECT 16 succeeded: want 16 databases")
	}

	p.Stop()
	if err := Ping(p.Addr()); err == nil {
		t.Error("Ping succeeded after Stop")
	}
	if p.Err() != nil {
		t.Errorf("Err() after SIGTERM = %v, want a clean exit", p.Err())
	}
	done := make(chan struct{})
	go func() { p.Stop(); close(done) }()
	if !closed(done, time.Second) {
		t.Error("a second Stop did not return at once")
	}
}

func TestOptions(t *testing.T) {
	t.Parallel()
	path := needServer(t)
	dir := t.TempDir()
	p := mustStart(t, Options{
		Path:      path,
		Databases: 3,
		Dir:       dir,
		Args:      []string{"--maxmemory", "12345678"},
	})
	if _, err := command(p.Addr(), "SELECT", "2"); err != nil {
		t.Errorf("SELECT 2: %v", err)
	}
	if _, err := command(p.Addr(), "SELECT", "3"); err == nil {
		t.Error("SELECT 3 succeeded with Databases: 3")
	}
	if got := info(t, p.Addr(), "memory", "maxmemory"); got != "12345678" {
		t.Errorf("maxmemory = %s, want the 12345678 of Args", got)
	}
	// The working directory is Dir: a SAVE on demand lands there.
	if _, err := command(p.Addr(), "SAVE"); err != nil {
		t.Fatalf("SAVE: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "dump.rdb")); err != nil {
		t.Errorf("no dump.rdb in Dir: %v", err)
	}
}

func TestTwoProcesses(t *testing.T) {
	t.Parallel()
	needServer(t)
	a, b := mustStart(t, Options{}), mustStart(t, Options{})
	if a.Port() == b.Port() {
		t.Fatalf("both on port %d", a.Port())
	}
	b.Stop()
	if err := Ping(a.Addr()); err != nil {
		t.Errorf("Ping %s after stopping the other server: %v", a.Addr(), err)
	}
	if err := Ping(b.Addr()); err == nil {
		t.Errorf("Ping %s succeeded after its Stop", b.Addr())
	}
}

func TestDone(t *testing.T) {
	t.Parallel()
	needServer(t)

	t.Run("Stop", func(t *testing.T) {
		t.Parallel()
		p := mustStart(t, Options{})
		if closed(p.Done(), 50*time.Millisecond) {
			t.Fatal("Done closed while the server runs")
		}
		if p.Err() != nil {
			t.Errorf("Err() while running = %v", p.Err())
		}
		p.Stop()
		if !closed(p.Done(), 0) {
			t.Error("Done is open after Stop returned")
		}
	})

	t.Run("exit", func(t *testing.T) { // the server ends by itself, without Stop
		t.Parallel()
		p := mustStart(t, Options{})
		_, _ = command(p.Addr(), "SHUTDOWN", "NOSAVE") // the server closes without answering
		if !closed(p.Done(), 10*time.Second) {
			t.Fatal("Done still open 10s after SHUTDOWN")
		}
		p.Stop() // returns at once
	})
}

func TestKill(t *testing.T) {
	t.Parallel()
	needServer(t)
	p := mustStart(t, Options{})
	p.Kill()
	if !closed(p.Done(), 0) {
		t.Fatal("Done is open after Kill returned")
	}
	if err := Ping(p.Addr()); err == nil {
		t.Error("Ping succeeded after Kill")
	}
	if err := p.Err(); err == nil || !strings.Contains(err.Error(), "killed") {
		t.Errorf("Err() after Kill = %v, want the process killed by a signal", err)
	}
	p.Kill() // returns at once
	p.Stop()
}

// A config file comes before the arguments: a Sentinel reads and rewrites it.
func TestConfigFile(t *testing.T) {
	t.Parallel()
	needServer(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	if err := os.WriteFile(conf, []byte("sentinel monitor watched 127.0.0.1 1 2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := mustStart(t, Options{ConfigFile: conf, Dir: dir, Args: []string{"--sentinel"}})
	if got := info(t, p.Addr(), "server", "redis_mode"); got != "sentinel" {
		t.Errorf("redis_mode = %s, want sentinel", got)
	}
	if got := info(t, p.Addr(), "sentinel", "sentinel_masters"); got != "1" {
		t.Errorf("sentinel_masters = %s, want the 1 of the config file", got)
	}
	b, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), "sentinel myid") {
		t.Errorf("the Sentinel did not write its state to the config file:\n%s", b)
	}
}

func TestBadPath(t *testing.T) {
	t.Parallel()
	bad := filepath.Join(t.TempDir(), "no-such-redis-server")
	for _, port := range []int{0, 1} { // port 1 is never bound: the spawn fails first
		p, err := Start(Options{Path: bad, Port: port})
		if err == nil {
			p.Stop()
			t.Fatalf("Start with Path %s (port %d) succeeded", bad, port)
		}
		if !strings.Contains(err.Error(), bad) {
			t.Errorf("the error does not name the path %s: %v", bad, err)
		}
		if n := strings.Count(err.Error(), "start "+bad); n != 1 {
			t.Errorf("port %d: the error reports %d attempts, want 1 (no retry on other ports): %v", port, n, err)
		}
	}
}

func TestNotRedis(t *testing.T) {
	t.Parallel()
	f, err := os.CreateTemp(t.TempDir(), "fake-redis-*")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("#!/bin/sh\necho 'I am not redis' >&2\nexit 3\n")
	_ = f.Close()
	if err := os.Chmod(f.Name(), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = Start(Options{Path: f.Name(), Port: 1})
	if err == nil {
		t.Fatal("Start of a script that exits succeeded")
	}
	errorHas(t, err, f.Name(), "exited before it was ready", "exit status 3", "I am not redis")
}

func TestStartOnTakenPort(t *testing.T) {
	t.Parallel()
	needServer(t)

	t.Run("listener", func(t *testing.T) {
		t.Parallel()
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = l.Close() }()
		port := l.Addr().(*net.TCPAddr).Port
		p, err := Start(Options{Port: port})
		if err == nil {
			p.Stop()
			t.Fatalf("Start on port %d held by a listener succeeded", port)
		}
		errorHas(t, err, "exited before it was ready", "--- redis-server log (tail) ---", "in use")
	})

	t.Run("other redis-server", func(t *testing.T) { // it answers PING, but is not ours
		t.Parallel()
		other := mustStart(t, Options{})
		p, err := Start(Options{Port: other.Port()})
		if err == nil {
			p.Stop()
			t.Fatalf("Start on port %d of another redis-server succeeded", other.Port())
		}
		errorHas(t, err, "exited before it was ready", "--- redis-server log (tail) ---", "in use")
		if err := Ping(other.Addr()); err != nil {
			t.Errorf("the other server: %v", err)
		}
	})
}

// errorHas checks that err says each of wants.
func errorHas(t *testing.T, err error, wants ...string) {
	t.Helper()
	for _, want := range wants {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
}

func TestReservePort(t *testing.T) {
	t.Parallel()
	needServer(t)
	// Another process may take a free port before it is reserved: try a few.
	var (
		port int
		r    io.Closer
		err  error
	)
	for range 5 {
		if port, err = FreePort(); err != nil {
			t.Fatal(err)
		}
		if r, err = ReservePort(port); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatal(err)
	}
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for range 3 {
		err := Ping(addr)
		if err == nil {
			t.Fatalf("Ping %s succeeded while the port is reserved", addr)
		}
		var op *net.OpError
		if !errors.As(err, &op) || op.Op != "dial" {
			t.Errorf("Ping %s while reserved: %v, want a refused dial", addr, err)
		}
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	p := mustStart(t, Options{Port: port})
	if p.Port() != port || p.Addr() != addr {
		t.Errorf("started on %s, want %s", p.Addr(), addr)
	}
	if err := Ping(addr); err != nil {
		t.Errorf("Ping after Start on the released port: %v", err)
	}
}

func TestStartPortOutOfRange(t *testing.T) {
	t.Parallel()
	if _, err := Start(Options{Path: "/bin/true", Port: 70000}); err == nil || !strings.Contains(err.Error(), "70000") {
		t.Errorf("Start on port 70000: %v", err)
	}
}

func TestTailBuffer(t *testing.T) {
	t.Parallel()
	b := &tailBuffer{max: 5}
	_, _ = b.Write([]byte("abc"))
	_, _ = b.Write([]byte("defg"))
	if got := b.String(); got != "cdefg" {
		t.Errorf("tail = %q, want %q", got, "cdefg")
	}
}
