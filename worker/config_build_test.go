package worker

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ikq-dev/ikq/internal/netguard"
)

func TestHostLimit(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ concurrency, share, want int }{
		{32, 0, 16}, // the default share, 50%
		{32, 50, 16},
		{32, 25, 8},
		{3, 50, 1},
		{1, 50, 1}, // at least one
		{32, 1, 1},
		{32, 99, 31},
		{32, 100, 0}, // no limit
	} {
		if got := hostLimit(c.concurrency, c.share); got != c.want {
			t.Errorf("hostLimit(%d, %d%%) = %d, want %d", c.concurrency, c.share, got, c.want)
		}
	}
}

// The Upload API client and the source client keep an idle connection per slot,
// and try HTTP/2.
func TestBuildSizesConnectionPools(t *testing.T) {
	t.Parallel()
	p, err := Config{PrivateKey: "k", Concurrency: 12}.build()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range p.closers {
			_ = c()
		}
	})
	ik, ok := p.ik.HTTPClient.Transport.(*http.Transport)
	if !ok || ik.MaxIdleConnsPerHost != 12 || !ik.ForceAttemptHTTP2 {
		t.Errorf("Upload API transport %+v: want 12 idle connections per host and HTTP/2", p.ik.HTTPClient.Transport)
	}
	guard, err := netguard.New(netguard.Config{})
	if err != nil {
		t.Fatal(err)
	}
	src, ok := sourceHTTPClient(guard, 12).Transport.(*http.Transport)
	if !ok || src.MaxIdleConnsPerHost != 12 || !src.ForceAttemptHTTP2 || src.DialContext == nil {
		t.Errorf("source transport %+v: want the guard's dialer, 12 idle connections per host and HTTP/2", src)
	}
}

// The source client speaks HTTP/2 to a source that offers it, through the SSRF
// guard's dialer.
func TestSourceClientSpeaksHTTP2(t *testing.T) {
	t.Parallel()
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(r.Proto))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	guard, err := netguard.New(netguard.Config{Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	c := sourceHTTPClient(guard, 4)
	pool := x509.NewCertPool()
	pool.AddCert(srv.Certificate())
	c.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.ProtoMajor != 2 {
		t.Errorf("fetched over %s, want HTTP/2", resp.Proto)
	}
}
