package ikqtest

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Get fetches u and returns its body, failing the test unless the answer is 200.
func Get(t testing.TB, u string) []byte {
	t.Helper()
	resp, err := http.Get(u) //nolint:gosec // G107: the URL is a test server's
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer CloseBody(t, resp)
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %s", u, resp.StatusCode, b)
	}
	return b
}

// CloseBody drains and closes a response body; a failure to close fails the test.
func CloseBody(t testing.TB, resp *http.Response) {
	t.Helper()
	_, _ = io.Copy(io.Discard, resp.Body) // only to let the connection be reused
	if err := resp.Body.Close(); err != nil {
		t.Errorf("closing the body of %s: %v", resp.Request.URL, err)
	}
}

// FreeAddr returns a loopback address that was free a moment ago.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// SourceServer serves one file at any path and counts the requests. Its handle,
// when set, runs first and may answer instead (returning true); n is the request's
// number, from 1.
type SourceServer struct {
	*httptest.Server
	body     []byte
	requests atomic.Int64
	mu       sync.Mutex
	agents   []string
	handle   func(n int64, w http.ResponseWriter, r *http.Request) bool
}

// NewSourceServer serves body as image/png until the test ends.
func NewSourceServer(t testing.TB, body []byte, handle func(n int64, w http.ResponseWriter, r *http.Request) bool) *SourceServer {
	t.Helper()
	s := &SourceServer{body: body, handle: handle}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := s.requests.Add(1)
		s.mu.Lock()
		s.agents = append(s.agents, r.UserAgent())
		s.mu.Unlock()
		if s.handle != nil && s.handle(n, w, r) {
			return
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", fmt.Sprint(len(s.body)))
		_, _ = w.Write(s.body) // a client that went away is the test's to notice
	}))
	t.Cleanup(s.Close)
	return s
}

// Requests is how many requests the server has received.
func (s *SourceServer) Requests() int64 { return s.requests.Load() }

// UserAgents are the User-Agent headers of the requests, in order.
func (s *SourceServer) UserAgents() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.agents)
}

// SlowSource serves body in two halves: the first at once, the second only once
// Release is called (or the client goes away). Requests after Release get the whole
// body at once.
type SlowSource struct {
	*SourceServer
	started  chan struct{}
	released chan struct{}
	once     sync.Once
}

// NewSlowSource starts a SlowSource, released at cleanup at the latest.
func NewSlowSource(t testing.TB, body []byte) *SlowSource {
	t.Helper()
	s := &SlowSource{started: make(chan struct{}, 16), released: make(chan struct{})}
	s.SourceServer = NewSourceServer(t, body, func(_ int64, w http.ResponseWriter, r *http.Request) bool {
		select {
		case <-s.released:
			return false
		default:
		}
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		half := len(body) / 2
		_, _ = w.Write(body[:half])
		w.(http.Flusher).Flush()
		select {
		case s.started <- struct{}{}:
		default:
		}
		select {
		case <-s.released:
			_, _ = w.Write(body[half:])
		case <-r.Context().Done():
		}
		return true
	})
	// Registered after the server's Close, so it runs before it: Close waits for
	// handlers, and none may be left blocked.
	t.Cleanup(s.Release)
	return s
}

// Release lets every held request finish, and later ones through at once.
func (s *SlowSource) Release() { s.once.Do(func() { close(s.released) }) }

// WaitStarted waits until a request to the source has begun streaming.
func (s *SlowSource) WaitStarted(t testing.TB) {
	t.Helper()
	Receive(t, s.started, "no request reached the slow source")
}

// FilesServer serves files[i] as image/png at /f/<i>.png until the test ends, and
// answers 404 to any other path.
func FilesServer(t testing.TB, files [][]byte) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/f/"), ".png"))
		if err != nil || i < 0 || i >= len(files) {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(files[i]) // a client that went away is the test's to notice
	}))
	t.Cleanup(ts.Close)
	return ts
}
