package source_test

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/dns/dnsmessage"

	"github.com/ikq-dev/ikq/internal/source"
)

// TestHostLimit: with HostLimit 2, a third source of the same host waits
// HostWait, then fails with a retryable ErrHostBusy, sending nothing; another
// host is not held up; closing a body frees its place.
func TestHostLimit(t *testing.T) {
	t.Parallel()
	srv, _ := tarpit(t, 0)
	port := srv.URL[strings.LastIndexByte(srv.URL, ':'):]
	// HostFast off: a body closed unread would make the site fast (TestHostLimitFastSite).
	o, _ := newOpener(source.Config{HostLimit: 2, HostWait: 50 * time.Millisecond, HostFast: -1})
	var open []*source.Source
	defer func() {
		for _, s := range open {
			_ = s.Body.Close()
		}
	}()
	for range 2 {
		src, err := o.Open(t.Context(), "http://127.0.0.1"+port+"/a.png")
		if err != nil {
			t.Fatal(err)
		}
		open = append(open, src)
	}
	_, err := o.Open(t.Context(), "http://127.0.0.1"+port+"/b.png")
	e := sourceError(t, err)
	if e.Kind != source.KindBusy || !e.Retryable || !errors.Is(err, source.ErrHostBusy) {
		t.Fatalf("third source of the host: Kind %v Retryable %v: %v", e.Kind, e.Retryable, err)
	}
	// "localhost" is another host name, though the same server.
	other, err := o.Open(t.Context(), "http://localhost"+port+"/c.png")
	if err != nil {
		t.Fatalf("another host: %v", err)
	}
	open = append(open, other)

	_ = open[0].Body.Close()
	open = open[1:]
	src, err := o.Open(t.Context(), "http://127.0.0.1"+port+"/b.png")
	if err != nil {
		t.Fatalf("after a body closed: %v", err)
	}
	open = append(open, src)
}

// TestHostLimitFastSite: a site whose last source came back quickly may open more
// than HostLimit; once a source keeps its reader waiting longer than HostFast, the
// limit holds the site again.
func TestHostLimitFastSite(t *testing.T) {
	t.Parallel()
	var delay atomic.Int64 // before the response's headers
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Duration(delay.Load()))
		w.Header().Set("Content-Type", "image/png")
		_, _ = w.Write(pngBytes)
	}))
	t.Cleanup(srv.Close)
	o, _ := newOpener(source.Config{HostLimit: 1, HostWait: 50 * time.Millisecond, HostFast: 100 * time.Millisecond})
	ctx := t.Context()
	readClose := func(src *source.Source) {
		t.Helper()
		if _, err := io.Copy(io.Discard, src.Body); err != nil {
			t.Fatal(err)
		}
		if err := src.Body.Close(); err != nil {
			t.Fatal(err)
		}
	}
	open := func(name string) (*source.Source, error) { return o.Open(ctx, srv.URL+"/"+name) }

	// Unknown, the site has its limit: a second source waits, then is refused.
	first, err := open("a.png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := open("b.png"); !errors.Is(err, source.ErrHostBusy) {
		t.Fatalf("second source of a site not yet known fast: %v", err)
	}
	readClose(first) // came back quickly: the site is fast

	var held []*source.Source
	for _, name := range []string{"c.png", "d.png", "e.png"} {
		src, err := open(name)
		if err != nil {
			t.Fatalf("source %s of a fast site past its limit: %v", name, err)
		}
		held = append(held, src)
	}
	for _, src := range held {
		readClose(src)
	}

	// The site turns slow: one source waits 200 ms for its headers.
	delay.Store(int64(200 * time.Millisecond))
	slow, err := open("f.png")
	if err != nil {
		t.Fatal(err)
	}
	readClose(slow)
	next, err := open("g.png")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = next.Body.Close() }()
	if _, err := open("h.png"); !errors.Is(err, source.ErrHostBusy) {
		t.Fatalf("second source of a site that turned slow: %v", err)
	}
}

// TestHostLimitWaits: a source that finds its host full waits for a place
// rather than failing at once.
func TestHostLimitWaits(t *testing.T) {
	t.Parallel()
	srv, _ := tarpit(t, 0)
	o, _ := newOpener(source.Config{HostLimit: 1, HostWait: 10 * time.Second})
	first, err := o.Open(t.Context(), srv.URL+"/a.png")
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(50*time.Millisecond, func() { _ = first.Body.Close() })
	second, err := o.Open(t.Context(), srv.URL+"/b.png")
	if err != nil {
		t.Fatalf("the second source did not get the place the first gave back: %v", err)
	}
	_ = second.Body.Close()
}

// TestHostLimitFailedOpenFreesPlace: a source that fails to open gives its
// host's place back.
func TestHostLimitFailedOpenFreesPlace(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&scripted{statuses: []int{404}})
	t.Cleanup(srv.Close)
	o, _ := newOpener(source.Config{HostLimit: 1, HostWait: time.Millisecond})
	for range 3 {
		_, err := o.Open(t.Context(), srv.URL+"/missing.png")
		if e := sourceError(t, err); e.Kind != source.KindNotFound {
			t.Fatalf("got %v", err)
		}
	}
}

// nxdomain is a DNS server on loopback that answers every question with "no
// such name", counting them.
func nxdomain(t *testing.T) (addr string, queries *atomic.Int32) {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	queries = &atomic.Int32{}
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			var p dnsmessage.Parser
			h, err := p.Start(buf[:n])
			if err != nil {
				continue
			}
			q, err := p.Question()
			if err != nil {
				continue
			}
			queries.Add(1)
			b := dnsmessage.NewBuilder(nil, dnsmessage.Header{
				ID: h.ID, Response: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true,
				RCode: dnsmessage.RCodeNameError,
			})
			_ = b.StartQuestions()
			_ = b.Question(q)
			if msg, err := b.Finish(); err == nil {
				_, _ = pc.WriteTo(msg, from)
			}
		}
	}()
	return pc.LocalAddr().String(), queries
}

// TestOpenHTTPNoSuchHost: a host the DNS says does not exist is looked up
// twice, then fails for good, without the resolver's address in the message.
func TestOpenHTTPNoSuchHost(t *testing.T) {
	t.Parallel()
	dns, queries := nxdomain(t)
	dialer := &net.Dialer{Resolver: &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dns)
	}}}
	client := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	o, s := newOpener(source.Config{HTTPClient: client})
	_, err := o.Open(t.Context(), "http://no-such-host.ikq.test./a.png")
	e := sourceError(t, err)
	if e.Kind != source.KindNotFound || e.Retryable || e.Attempts != 2 || len(s.waits()) != 1 {
		t.Fatalf("got Kind %v Retryable %v Attempts %d waits %v: %v", e.Kind, e.Retryable, e.Attempts, s.waits(), err)
	}
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Errorf("%v does not wrap the DNS error", err)
	}
	if msg := err.Error(); strings.Contains(msg, dns) || !strings.Contains(msg, `no such host "no-such-host.ikq.test."`) {
		t.Errorf("message %q", msg)
	}
	if n := queries.Load(); n < 2 || n > 4 { // A and AAAA, twice at most
		t.Errorf("%d DNS queries", n)
	}
}
