package httpserve

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
)

func TestMain(m *testing.M) { ikqtest.Main(m) }

// serveTest serves h under l on loopback until the test ends and returns its address.
func serveTest(t *testing.T, h http.Handler, l Limits) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Serve(ctx, ln, h, l, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return ln.Addr().String()
}

// short are limits a test can wait out.
var short = Limits{ReadHeaderTimeout: 300 * time.Millisecond, IdleTimeout: 300 * time.Millisecond,
	MinRate: 64 << 10, Grace: 300 * time.Millisecond, Stall: time.Second}

// waitClosed reads c until the server closes it; it fails the test if the server
// has not within bound, far longer than any of the limits under test.
func waitClosed(t *testing.T, c net.Conn, bound time.Duration) {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(bound)); err != nil {
		t.Fatal(err)
	}
	_, err := io.Copy(io.Discard, c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the server still holds the connection after %s", bound)
	}
}

func ok(w http.ResponseWriter, r *http.Request) {
	n, err := io.Copy(io.Discard, r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusRequestTimeout)
		return
	}
	fmt.Fprintf(w, "%d", n)
}

// TestIdleAndTricklingConnectionsAreClosed: connections that send nothing, that
// wait after a request, or that trickle headers or a body, are closed by the server
// once their limit passes; a hundred idle ones hold nothing afterwards.
func TestIdleAndTricklingConnectionsAreClosed(t *testing.T) {
	t.Parallel()
	var bodyErrs atomic.Int64
	addr := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				bodyErrs.Add(1)
			}
			return
		}
		_, _ = io.WriteString(w, "ok")
	}), short)
	dial := func() net.Conn {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	const bound = 5 * time.Second

	t.Run("silent", func(t *testing.T) {
		t.Parallel()
		waitClosed(t, dial(), bound)
	})
	t.Run("idle after a request", func(t *testing.T) {
		t.Parallel()
		var conns []net.Conn
		for range 100 {
			c := dial()
			if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(bufio.NewReader(c), nil)
			if err != nil {
				t.Fatalf("request: %v", err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("request: %s", resp.Status)
			}
			conns = append(conns, c)
		}
		for _, c := range conns {
			waitClosed(t, c, bound)
		}
	})
	t.Run("trickling headers", func(t *testing.T) {
		t.Parallel()
		c := dial()
		stop := trickle(t, c, "", "GET / HTTP/1.1\r\nHost: localhost\r\nX-Slow: "+strings.Repeat("a", 1000))
		defer stop()
		waitClosed(t, c, bound)
	})
	t.Run("trickling body", func(t *testing.T) {
		t.Parallel()
		c := dial()
		stop := trickle(t, c, "POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 100000\r\n\r\n", strings.Repeat("a", 100000))
		defer stop()
		waitClosed(t, c, bound)
		if bodyErrs.Load() == 0 {
			t.Errorf("the handler's read of the trickling body did not time out")
		}
	})
}

// trickle writes head to c, then s a byte every 50 ms until stopped or c fails.
func trickle(t *testing.T, c net.Conn, head, s string) (stop func()) {
	t.Helper()
	if _, err := io.WriteString(c, head); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for i := range len(s) {
			select {
			case <-done:
				return
			case <-t.C:
			}
			if _, err := c.Write([]byte{s[i]}); err != nil {
				return
			}
		}
	}()
	return func() { close(done); wg.Wait() }
}

// TestSlowSteadyUploadSucceeds sends a body for several times the grace and the
// stall together, at a steady rate above the minimum: it arrives whole. A single
// read timeout short enough to cut the trickling body above would have cut it.
func TestSlowSteadyUploadSucceeds(t *testing.T) {
	t.Parallel()
	addr := serveTest(t, http.HandlerFunc(ok), Limits{MinRate: 128 << 10, Grace: 500 * time.Millisecond, Stall: time.Second})
	const size = 3 << 20 // at 1 MiB/s: 3 s
	pr, pw := io.Pipe()
	go func() {
		chunk := bytes.Repeat([]byte("x"), 32<<10)
		t := time.NewTicker(time.Second / 32)
		defer t.Stop()
		for sent := 0; sent < size; sent += len(chunk) {
			<-t.C
			if _, err := pw.Write(chunk); err != nil {
				return
			}
		}
		_ = pw.Close()
	}()
	start := time.Now()
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+"/", pr)
	if err != nil {
		t.Fatal(err)
	}
	req.ContentLength = size
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || string(b) != fmt.Sprint(size) {
		t.Fatalf("steady upload: %d %s", resp.StatusCode, b)
	}
	if took := time.Since(start); took < 2*time.Second {
		t.Fatalf("the upload took %s: the test does not test what it says", took)
	}
}

// TestSlowReaderIsCut: a client that does not read a large response holds the
// handler's write only as long as its pace allows.
func TestSlowReaderIsCut(t *testing.T) {
	t.Parallel()
	werr := make(chan error, 1)
	addr := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		chunk := bytes.Repeat([]byte("x"), 64<<10)
		for range 4096 { // 256 MiB: more than any socket buffer
			if _, err := w.Write(chunk); err != nil {
				werr <- err
				return
			}
		}
		werr <- nil
	}), short)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := io.WriteString(c, "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-werr:
		if !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatalf("the handler's write ended with %v, want a deadline", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a client reading nothing held the handler for 10 s")
	}
}

func TestMaxHeaderBytes(t *testing.T) {
	t.Parallel()
	addr := serveTest(t, http.HandlerFunc(ok), Limits{MaxHeaderBytes: 8 << 10})
	for size, want := range map[int]int{4 << 10: http.StatusOK, 64 << 10: http.StatusRequestHeaderFieldsTooLarge} {
		req, err := http.NewRequest(http.MethodGet, "http://"+addr+"/", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Big", strings.Repeat("a", size))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("%d bytes of headers: %d, want %d", size, resp.StatusCode, want)
		}
	}
}

// TestMaxConns: at most MaxConns requests are served at once, the rest wait; idle
// connections at the cap make way for new clients.
func TestMaxConns(t *testing.T) {
	t.Parallel()
	const max = 4
	var now, peak atomic.Int64
	release := make(chan struct{})
	blocking := atomic.Bool{}
	blocking.Store(true)
	addr := serveTest(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		n := now.Add(1)
		defer now.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if blocking.Load() {
			<-release
		}
		_, _ = io.WriteString(w, "ok")
	}), Limits{MaxConns: max})

	get := func(c *http.Client) error {
		resp, err := c.Get("http://" + addr + "/")
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		_, err = io.Copy(io.Discard, resp.Body)
		return err
	}
	// Twice the cap, each on its own connection, while handlers block.
	var wg sync.WaitGroup
	errs := make(chan error, 2*max)
	for range 2 * max {
		wg.Go(func() {
			errs <- get(&http.Client{Transport: &http.Transport{DisableKeepAlives: true}})
		})
	}
	for now.Load() < max {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // room for a fifth to be let in, wrongly
	blocking.Store(false)
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if p := peak.Load(); p != max {
		t.Fatalf("%d requests served at once, want %d", p, max)
	}

	// max idle kept-alive connections, then a new client: served.
	var idle []*http.Transport
	for range max {
		tr := &http.Transport{}
		if err := get(&http.Client{Transport: tr}); err != nil {
			t.Fatal(err)
		}
		idle = append(idle, tr)
	}
	fresh := &http.Transport{}
	done := make(chan error, 1)
	go func() { done <- get(&http.Client{Transport: fresh}) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("idle connections at the cap kept a new client out")
	}
	for _, tr := range append(idle, fresh) {
		tr.CloseIdleConnections()
	}
}

func TestDefaultMaxConns(t *testing.T) {
	t.Parallel()
	n := DefaultMaxConns()
	files, ok := openFileLimit()
	if ok && int64(n) > max(files/2, minDefaultConns) || n < minDefaultConns || n > maxDefaultConns {
		t.Fatalf("DefaultMaxConns() = %d with an open-file limit of %d", n, files)
	}
}
