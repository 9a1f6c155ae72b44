package redistest

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// readyTimeout bounds the wait for a started redis-server to answer PING.
	readyTimeout = 10 * time.Second
	// stopTimeout bounds the wait after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// logTail is how much of a server's output is kept for failure messages.
	logTail = 16 << 10
)

// NewServer starts a dedicated private redis-server for tests that stop and restart
// Redis (outage tests). It skips the test if redis-server is not on PATH. The server
// is stopped at cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	path, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redistest: redis-server is not on PATH")
	}
	p, port, err := startFreePort(path, 16)
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{Addr: loopback(port), path: path, port: port, proc: p}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc != nil {
			s.proc.stop()
			s.proc = nil
		}
		s.unreserve()
	})
	return s
}

// Server is a private redis-server owned by one test.
type Server struct {
	Addr string

	path string
	port int

	mu       sync.Mutex
	proc     *process // nil while stopped
	reserved io.Closer
}

// Stop sends SIGTERM and waits for the server to exit. The port stays reserved for
// Start: a bound, non-listening socket holds it, so clients get "connection refused"
// rather than a stranger's server.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		t.Fatalf("redistest: Stop: server %s is not running", s.Addr)
	}
	s.proc.stop()
	s.proc = nil
	r, err := reservePort(s.port)
	if err != nil {
		// Only a stranger taking the port in this instant gets here; Start will say so.
		t.Logf("redistest: could not reserve port %d while stopped: %v", s.port, err)
		return
	}
	s.reserved = r
}

// Start restarts a stopped server on the same port, with the same (empty) data, and
// waits until it answers PING.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		t.Fatalf("redistest: Start: server %s is already running", s.Addr)
	}
	s.unreserve()
	p, err := startServer(s.path, s.port, 16)
	if err != nil {
		t.Fatalf("redistest: restart on port %d: %v", s.port, err)
	}
	s.proc = p
}

// Redis is DB 0 of this server.
func (s *Server) Redis() *Redis {
	return &Redis{Addr: s.Addr}
}

func (s *Server) unreserve() {
	if s.reserved != nil {
		s.reserved.Close()
		s.reserved = nil
	}
}

// Main is an optional TestMain helper: it runs the tests and then stops the private
// redis-server shared by the package's tests.
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// Without it the server still dies with the test binary (Linux: parent-death signal).
func Main(m *testing.M) {
	code := m.Run()
	stopShared()
	os.Exit(code)
}

// process is one running redis-server.
type process struct {
	cmd  *exec.Cmd
	log  *tailBuffer
	done chan struct{} // closed once the process has exited
	err  error         // the exit status, set before done is closed
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits; SIGKILL if the server does not exit in time.
func (p *process) stop() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// startFreePort starts a server on a free loopback port, trying a few ports in case
// another process takes the chosen one before redis-server binds it.
func startFreePort(path string, databases int) (*process, int, error) {
	var errs []error
	for range 5 {
		port, err := freePort()
		if err != nil {
			return nil, 0, err
		}
		p, err := startServer(path, port, databases)
		if err == nil {
			return p, port, nil
		}
		errs = append(errs, err)
	}
	return nil, 0, errors.Join(errs...)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func loopback(port int) string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(port)) }

// startServer starts redis-server on port and waits until it answers PING.
func startServer(path string, port, databases int) (*process, error) {
	cmd := exec.Command(path,
		"--port", strconv.Itoa(port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--databases", strconv.Itoa(databases),
		// Nothing is persisted, but keep any stray file out of the package directory.
		"--dir", os.TempDir(),
	)
	log := &tailBuffer{max: logTail}
	cmd.Stdout = log
	cmd.Stderr = log
	setParentDeath(cmd)
	if err := spawn(cmd); err != nil {
		return nil, fmt.Errorf("start %s: %w", path, err)
	}
	p := &process{cmd: cmd, log: log, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := waitReady(loopback(port), p); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\n--- redis-server log (tail) ---\n%s", err, log.String())
	}
	return p, nil
}

// waitReady polls PING until the server answers PONG, exits, or readyTimeout passes.
func waitReady(addr string, p *process) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			return fmt.Errorf("redis-server on %s exited before it was ready: %v", addr, p.err)
		}
		if last = ping(addr); last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("redis-server on %s not ready after %v: %v", addr, readyTimeout, last)
}

// ping speaks just enough RESP to check readiness without a client pool.
func ping(addr string) error {
	c, err := net.DialTimeout("tcp", addr, 500*time.Millisecond)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(time.Second))
	if _, err := c.Write([]byte("*1\r\n$4\r\nPING\r\n")); err != nil {
		return err
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		return err
	}
	if line = strings.TrimSpace(line); line != "+PONG" {
		return fmt.Errorf("PING answered %q", line)
	}
	return nil
}

// The spawner starts every redis-server from one goroutine locked to its OS thread.
// The parent-death signal is tied to the thread that forked the child, not to the
// process; this thread lives until the test binary exits, so servers die with it.
var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}

func spawn(cmd *exec.Cmd) error {
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the goroutine and its thread never exit
			for req := range spawnReqs {
				req.errc <- req.cmd.Start()
			}
		}()
	})
	req := spawnReq{cmd: cmd, errc: make(chan error, 1)}
	spawnReqs <- req
	return <-req.errc
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - b.max; over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}
