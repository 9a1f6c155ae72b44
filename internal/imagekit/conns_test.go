package imagekit

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
)

// countingListener counts the connections a server accepts.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}

// tlsEmulator is the emulator behind TLS on loopback, offering HTTP/2 or only
// HTTP/1.1, counting the connections it accepts and the requests made over
// HTTP/2.
type tlsEmulator struct {
	URL   string
	pool  *x509.CertPool
	conns *countingListener
	h2    atomic.Int64
}

func newTLSEmulator(t testing.TB, http2 bool) *tlsEmulator {
	t.Helper()
	emu, err := emulator.New(emulator.Config{PrivateKey: testKey})
	if err != nil {
		t.Fatal(err)
	}
	e := &tlsEmulator{}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 2 {
			e.h2.Add(1)
		}
		emu.ServeHTTP(w, r)
	}))
	e.conns = &countingListener{Listener: ts.Listener}
	ts.Listener = e.conns
	ts.EnableHTTP2 = http2
	ts.StartTLS()
	t.Cleanup(func() {
		ts.Close()
		_ = emu.Close()
	})
	e.URL = ts.URL
	e.pool = x509.NewCertPool()
	e.pool.AddCert(ts.Certificate())
	return e
}

// client is a Client of the emulator over hc, trusting its certificate.
func (e *tlsEmulator) client(hc *http.Client) *Client {
	hc.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: e.pool, MinVersion: tls.VersionTLS12}
	c := clientFor(e.URL, testKey)
	c.HTTPClient = hc
	return c
}

// defaultHTTPClient is what a Client with no HTTPClient uses: DefaultTransport.
func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
}

// uploadMany makes n small uploads, concurrency at a time.
func uploadMany(ctx context.Context, c *Client, n, concurrency int, body []byte) error {
	var (
		next atomic.Int64
		wg   sync.WaitGroup
		mu   sync.Mutex
		errs []error
	)
	for range concurrency {
		wg.Go(func() {
			for i := next.Add(1); i <= int64(n); i = next.Add(1) {
				_, err := c.Upload(ctx, UploadRequest{
					File: bytes.NewReader(body), ContentType: "image/png",
					Params: Params{FileName: fmt.Sprintf("c%d.png", i)},
				})
				if err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return errs[0]
	}
	return nil
}

// TestNewHTTPClientReusesConnections: a client from NewHTTPClient(n) running n
// uploads at once opens at most n connections to a server that speaks only
// HTTP/1.1, and sends them over HTTP/2 to one that offers it.
func TestNewHTTPClientReusesConnections(t *testing.T) {
	t.Parallel()
	const concurrency, uploads = 8, 120
	body := pngBytes(t, 8, 8)
	for _, h2 := range []bool{false, true} {
		t.Run(fmt.Sprintf("http2=%v", h2), func(t *testing.T) {
			t.Parallel()
			emu := newTLSEmulator(t, h2)
			c := emu.client(NewHTTPClient(concurrency))
			if err := uploadMany(t.Context(), c, uploads, concurrency, body); err != nil {
				t.Fatal(err)
			}
			conns := emu.conns.n.Load()
			t.Logf("%d connections for %d uploads at concurrency %d; %d over HTTP/2", conns, uploads, concurrency, emu.h2.Load())
			if conns > concurrency {
				t.Errorf("%d connections opened for %d uploads at concurrency %d: idle ones were dropped", conns, uploads, concurrency)
			}
			if h2 && emu.h2.Load() != uploads {
				t.Errorf("%d of %d uploads over HTTP/2", emu.h2.Load(), uploads)
			}
		})
	}
}

// BenchmarkUploadConnections uploads 2,000 small files, 32 at a time, to the
// emulator behind TLS on loopback and reports the connections it accepted:
// "default" is a Client without HTTPClient (http.DefaultTransport, 2 idle
// connections per host), "pooled" one with NewHTTPClient(32); each against a
// server speaking HTTP/1.1 only, and one offering HTTP/2.
func BenchmarkUploadConnections(b *testing.B) {
	const concurrency, uploads = 32, 2000
	body := pngBytes(b, 8, 8)
	for _, bc := range []struct {
		name string
		hc   func() *http.Client
	}{
		{"default", defaultHTTPClient},
		{"pooled", func() *http.Client { return NewHTTPClient(concurrency) }},
	} {
		for _, h2 := range []bool{false, true} {
			proto := "http1"
			if h2 {
				proto = "http2"
			}
			b.Run(bc.name+"/"+proto, func(b *testing.B) {
				var conns, n int64
				for b.Loop() {
					emu := newTLSEmulator(b, h2)
					c := emu.client(bc.hc())
					start := time.Now()
					if err := uploadMany(b.Context(), c, uploads, concurrency, body); err != nil {
						b.Fatal(err)
					}
					b.ReportMetric(float64(uploads)/time.Since(start).Seconds(), "uploads/s")
					conns += emu.conns.n.Load()
					n++
					c.HTTPClient.CloseIdleConnections()
				}
				b.ReportMetric(float64(conns)/float64(n), "conns/2000-uploads")
			})
		}
	}
}
