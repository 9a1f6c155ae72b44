package redistest

import (
	"io"
	"os"
	"sync"
	"testing"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// NewServer starts a dedicated private redis-server for tests that stop and restart
// Redis (outage tests). It skips the test if redis-server is not on PATH. The server
// is stopped at cleanup.
func NewServer(t testing.TB) *Server {
	t.Helper()
	path, err := redisproc.LookPath()
	if err != nil {
		t.Skip("redistest: redis-server is not on PATH")
	}
	p, err := redisproc.Start(redisproc.Options{Path: path})
	if err != nil {
		t.Fatalf("redistest: %v", err)
	}
	s := &Server{Addr: p.Addr(), path: path, port: p.Port(), proc: p}
	t.Cleanup(func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.proc != nil {
			s.proc.Stop()
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
	proc     *redisproc.Process // nil while stopped
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
	s.proc.Stop()
	s.proc = nil
	r, err := redisproc.ReservePort(s.port)
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
	p, err := redisproc.Start(redisproc.Options{Path: s.path, Port: s.port})
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
		_ = s.reserved.Close()
		s.reserved = nil
	}
}

// Main is an optional TestMain helper: it runs the tests and then stops the private
// redis-server shared by the package's tests.
//
//	func TestMain(m *testing.M) { redistest.Main(m) }
//
// Without it the server still dies with the test binary (Linux: parent-death signal).
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main without the exit: it runs the tests, stops the shared server and
// returns the exit code, for a TestMain that checks more after the tests.
func Run(m *testing.M) int {
	code := m.Run()
	stopShared()
	return code
}
