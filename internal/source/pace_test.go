package source_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/source"
)

// tarpit answers at once with headers and a first chunk, then sends one byte
// every gap (never, when gap is 0) until the client goes away, which it reports
// on gone.
func tarpit(t *testing.T, gap time.Duration) (srv *httptest.Server, gone <-chan struct{}) {
	t.Helper()
	left := make(chan struct{}, 16)
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() { left <- struct{}{} }()
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Content-Length", "100000000")
		w.Write(pngBytes[:16])
		w.(http.Flusher).Flush()
		var tick <-chan time.Time
		if gap > 0 {
			tk := time.NewTicker(gap)
			defer tk.Stop()
			tick = tk.C
		}
		for {
			select {
			case <-tick:
				if _, err := w.Write([]byte{0}); err != nil {
					return
				}
				w.(http.Flusher).Flush()
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	return srv, left
}

// TestBodyIdleTimeout: a source that sends its headers and then nothing fails
// the read with a retryable timeout, and the connection to it is closed.
func TestBodyIdleTimeout(t *testing.T) {
	t.Parallel()
	srv, gone := tarpit(t, 0)
	o, _ := newOpener(source.Config{IdleTimeout: 200 * time.Millisecond, MinRate: -1})
	src, err := o.Open(t.Context(), srv.URL+"/a.png?sig=secret")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Body.Close() }()
	_, err = io.ReadAll(src.Body)
	e := sourceError(t, err)
	if e.Kind != source.KindTimeout || !e.Retryable {
		t.Fatalf("got Kind %v Retryable %v: %v", e.Kind, e.Retryable, err)
	}
	if msg := err.Error(); !strings.Contains(msg, "no data for 200ms") || strings.Contains(msg, "secret") {
		t.Errorf("message %q", msg)
	}
	ikqtest.Receive(t, gone, "the tarpit's connection to close")
}

// TestBodyMinRate: a source that trickles a byte now and then, never idle for
// long, fails once its rate stays under MinRate for about RateWindow.
func TestBodyMinRate(t *testing.T) {
	t.Parallel()
	srv, gone := tarpit(t, 10*time.Millisecond) // 100 bytes/s at most
	o, _ := newOpener(source.Config{IdleTimeout: 10 * time.Second, MinRate: 4 << 10, RateWindow: 300 * time.Millisecond})
	src, err := o.Open(t.Context(), srv.URL+"/a.png")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Body.Close() }()
	n, err := io.Copy(io.Discard, src.Body)
	e := sourceError(t, err)
	if e.Kind != source.KindTimeout || !e.Retryable || !strings.Contains(err.Error(), "slower than 4 KiB/s") {
		t.Fatalf("after %d bytes: got Kind %v Retryable %v: %v", n, e.Kind, e.Retryable, err)
	}
	ikqtest.Receive(t, gone, "the tarpit's connection to close")
}

// TestBodySlowReaderIsNotASlowSource: time the caller spends between reads (an
// upload waiting on ImageKit) is not held against the source.
func TestBodySlowReaderIsNotASlowSource(t *testing.T) {
	t.Parallel()
	body := pseudoRandom(256 << 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/x-test")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	o, _ := newOpener(source.Config{IdleTimeout: 100 * time.Millisecond, MinRate: 16 << 20, RateWindow: 100 * time.Millisecond})
	src, err := o.Open(t.Context(), srv.URL+"/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Body.Close() }()
	var got bytes.Buffer
	buf := make([]byte, 64<<10)
	for {
		n, err := src.Body.Read(buf)
		got.Write(buf[:n])
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("after %d bytes: %v", got.Len(), err)
		}
		time.Sleep(150 * time.Millisecond) // longer than the idle limit, every time
	}
	if !bytes.Equal(got.Bytes(), body) {
		t.Fatalf("got %d bytes, want %d", got.Len(), len(body))
	}
}

// TestBodyIdleTimeoutRegisteredScheme: the pacing covers sources of other
// schemes (object stores) too, through the context Open gives their opener.
func TestBodyIdleTimeoutRegisteredScheme(t *testing.T) {
	t.Parallel()
	srv, gone := tarpit(t, 0)
	o, _ := newOpener(source.Config{IdleTimeout: 200 * time.Millisecond, MinRate: -1})
	// Like an object store's SDK: its own GET, under the context it is given.
	o.Register("store", func(ctx context.Context, u *url.URL) (*source.Source, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+u.Path, nil)
		if err != nil {
			return nil, err
		}
		resp, err := srv.Client().Do(req) //nolint:bodyclose // the Source's Body, closed by its reader
		if err != nil {
			return nil, err
		}
		return &source.Source{Body: resp.Body, Size: -1, ContentType: "image/png"}, nil
	})
	src, err := o.Open(t.Context(), "store://bucket/a.png")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Body.Close() }()
	_, err = io.ReadAll(src.Body)
	if e := sourceError(t, err); e.Kind != source.KindTimeout || !e.Retryable {
		t.Fatalf("got Kind %v Retryable %v: %v", e.Kind, e.Retryable, err)
	}
	ikqtest.Receive(t, gone, "the tarpit's connection to close")
}

// TestBodyPacingOff: negative IdleTimeout and MinRate turn the pacing off.
func TestBodyPacingOff(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes[:10])
		w.(http.Flusher).Flush()
		time.Sleep(150 * time.Millisecond)
		w.Write(pngBytes[10:])
	}))
	t.Cleanup(srv.Close)
	o, _ := newOpener(source.Config{IdleTimeout: -1, MinRate: -1, RateWindow: time.Millisecond})
	src, err := o.Open(t.Context(), srv.URL+"/a.png")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); !bytes.Equal(got, pngBytes) {
		t.Fatalf("got %d bytes", len(got))
	}
}
