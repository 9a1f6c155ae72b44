package netguard

import (
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"code.dny.dev/ssrf"
)

func mustNew(t *testing.T, allow ...string) *Guard {
	t.Helper()
	g, err := New(Config{Allow: allow})
	if err != nil {
		t.Fatalf("New(%q): %v", allow, err)
	}
	return g
}

func TestRefusedClasses(t *testing.T) {
	t.Parallel()
	g := mustNew(t)
	for _, tc := range []struct{ class, ip string }{
		{"loopback v4", "127.0.0.1"},
		{"loopback v4, not .1", "127.1.2.3"},
		{"loopback v6", "::1"},
		{"private 10/8", "10.0.0.1"},
		{"private 172.16/12", "172.16.0.1"},
		{"private 172.16/12, top", "172.31.255.254"},
		{"private 192.168/16", "192.168.1.1"},
		{"unique local fc00::/7", "fc00::1"},
		{"unique local fd00::/8", "fd12:3456::1"},
		{"link-local v4", "169.254.1.1"},
		{"link-local v6", "fe80::1"},
		{"cloud metadata v4", "169.254.169.254"},
		{"cloud metadata v6 (AWS)", "fd00:ec2::254"},
		{"unspecified v4", "0.0.0.0"},
		{"this network 0/8", "0.1.2.3"},
		{"unspecified v6", "::"},
		{"CGNAT 100.64/10", "100.64.0.1"},
		{"CGNAT 100.64/10, top", "100.127.255.254"},
		{"multicast v4", "224.0.0.1"},
		{"multicast v6", "ff02::1"},
		{"broadcast", "255.255.255.255"},
		{"IPv4-mapped private", "::ffff:10.0.0.1"},
		{"IPv4-mapped loopback", "::ffff:127.0.0.1"},
		{"IPv4-mapped metadata", "::ffff:169.254.169.254"},
		{"documentation", "192.0.2.1"},
	} {
		t.Run(tc.class, func(t *testing.T) {
			ip := netip.MustParseAddr(tc.ip)
			err := g.check(ip)
			if !errors.Is(err, ErrRefused) {
				t.Fatalf("check(%s) = %v; want ErrRefused", ip, err)
			}
			var re *RefusedError
			if !errors.As(err, &re) || re.Addr != ip {
				t.Errorf("check(%s) = %#v; want a *RefusedError for it", ip, err)
			}
			if !strings.Contains(err.Error(), "IKQ_FETCH_ALLOW") {
				t.Errorf("message %q does not say how to allow it", err)
			}
		})
	}
}

func TestPublicAddressesAllowed(t *testing.T) {
	t.Parallel()
	g := mustNew(t)
	// The decision only: nothing is dialed.
	for _, s := range []string{"8.8.8.8", "1.1.1.1", "93.184.216.34", "100.128.0.1", "172.32.0.1", "2606:4700:4700::1111", "2001:4860:4860::8888"} {
		if err := g.check(netip.MustParseAddr(s)); err != nil {
			t.Errorf("check(%s) = %v; want nil", s, err)
		}
	}
	if err := g.Control("tcp4", "8.8.8.8:8443", nil); err != nil {
		t.Errorf("Control on a public address, any port: %v", err)
	}
	if err := g.Control("udp4", "8.8.8.8:53", nil); !errors.Is(err, ErrRefused) || !errors.Is(err, ssrf.ErrProhibitedNetwork) {
		t.Errorf("Control on udp: %v; want refused (network)", err)
	}
	if err := g.Control("tcp4", "not an address", nil); !errors.Is(err, ErrRefused) {
		t.Errorf("Control on a bad address: %v; want refused", err)
	}
}

func TestAllowedCIDRsAndIPs(t *testing.T) {
	t.Parallel()
	g := mustNew(t, "127.0.0.0/8", "10.1.2.3", "::1", "::ffff:192.168.0.0/112")
	for _, tc := range []struct {
		ip      string
		allowed bool
	}{
		{"127.0.0.1", true},
		{"127.9.9.9", true},
		{"::ffff:127.0.0.1", true},
		{"10.1.2.3", true},
		{"10.1.2.4", false},
		{"::1", true},
		{"192.168.3.4", true},
		{"192.169.0.1", true}, // public anyway
		{"169.254.169.254", false},
		{"fe80::1", false},
	} {
		err := g.check(netip.MustParseAddr(tc.ip))
		if got := err == nil; got != tc.allowed {
			t.Errorf("check(%s) = %v; want allowed %v", tc.ip, err, tc.allowed)
		}
	}
	if err := g.Control("tcp4", "127.0.0.1:6379", nil); err != nil {
		t.Errorf("Control(127.0.0.1) with 127.0.0.0/8 allowed: %v", err)
	}
}

func TestAllowedHostNames(t *testing.T) {
	t.Parallel()
	g := mustNew(t, "minio", "Files.Internal.")
	for host, want := range map[string]bool{
		"minio":           true,
		"MINIO":           true,
		"minio.":          true,
		"files.internal":  true,
		"minio2":          false,
		"x.minio":         false,
		"127.0.0.1":       false,
		"internal":        false,
		"files.internal2": false,
	} {
		if got := g.allowedHost(host); got != want {
			t.Errorf("allowedHost(%q) = %v; want %v", host, got, want)
		}
	}
	// A name entry allows no address by itself.
	if err := g.check(netip.MustParseAddr("127.0.0.1")); !errors.Is(err, ErrRefused) {
		t.Errorf("check(127.0.0.1) with only names allowed = %v; want refused", err)
	}
}

// server is an httptest server on addr ("127.0.0.1:0") counting its requests.
func server(t *testing.T, addr string, h http.HandlerFunc) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listen on %s: %v", addr, err)
	}
	var n atomic.Int32
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		h(w, r)
	}))
	_ = srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &n
}

func ok(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") }

func get(g *Guard, url string) (string, error) {
	resp, err := g.Client(5 * time.Second).Get(url)
	if err != nil {
		return "", err
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func TestClientRefusesLoopbackUnlessAllowed(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, "127.0.0.1:0", ok)

	_, err := get(mustNew(t), srv.URL)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("GET %s without allow: %v; want ErrRefused", srv.URL, err)
	}
	var re *RefusedError
	if !errors.As(err, &re) || re.Host != "127.0.0.1" {
		t.Errorf("error %#v; want a *RefusedError for host 127.0.0.1", err)
	}
	if hits.Load() != 0 {
		t.Errorf("the server got %d requests; want none", hits.Load())
	}

	port := srv.Listener.Addr().(*net.TCPAddr).Port
	mapped := fmt.Sprintf("http://[::ffff:127.0.0.1]:%d/", port)
	if _, err := get(mustNew(t), mapped); !errors.Is(err, ErrRefused) {
		t.Errorf("GET %s without allow: %v; want ErrRefused", mapped, err)
	}
	if hits.Load() != 0 {
		t.Errorf("the server got %d requests; want none", hits.Load())
	}

	body, err := get(mustNew(t, "127.0.0.0/8"), srv.URL)
	if err != nil || body != "ok" {
		t.Fatalf("GET %s with 127.0.0.0/8 allowed: %q, %v", srv.URL, body, err)
	}
}

func TestClientRefusesNameResolvingToLoopback(t *testing.T) {
	t.Parallel()
	srv, hits := server(t, "127.0.0.1:0", ok)
	url := fmt.Sprintf("http://localhost:%d/", srv.Listener.Addr().(*net.TCPAddr).Port)

	_, err := get(mustNew(t), url)
	var re *RefusedError
	if !errors.As(err, &re) || !errors.Is(err, ErrRefused) {
		t.Fatalf("GET %s: %v; want refused", url, err)
	}
	if re.Host != "localhost" || !strings.HasPrefix(re.Error(), "refused: localhost resolves to") {
		t.Errorf("error %q (host %q); want it to name localhost", re, re.Host)
	}
	if !strings.Contains(err.Error(), "IKQ_FETCH_ALLOW") {
		t.Errorf("error %q does not say how to allow it", err)
	}

	// Allowed by name, the host dials whatever it resolves to.
	body, err := get(mustNew(t, "localhost"), url)
	if err != nil || body != "ok" {
		t.Fatalf("GET %s with localhost allowed: %q, %v", url, body, err)
	}
	// The name allows the name, not its addresses.
	if _, err := get(mustNew(t, "localhost"), srv.URL); !errors.Is(err, ErrRefused) {
		t.Errorf("GET %s with only localhost allowed: %v; want refused", srv.URL, err)
	}
	if hits.Load() != 1 {
		t.Errorf("the server got %d requests; want 1", hits.Load())
	}
}

func TestRedirectToRefusedAddressIsRefused(t *testing.T) {
	t.Parallel()
	inner, innerHits := server(t, "127.0.0.1:0", ok)
	outer, outerHits := server(t, "127.0.0.2:0", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, inner.URL+"/secret", http.StatusFound)
	})
	g := mustNew(t, "127.0.0.2/32")

	_, err := get(g, outer.URL)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("GET %s redirecting to %s: %v; want ErrRefused", outer.URL, inner.URL, err)
	}
	if outerHits.Load() != 1 || innerHits.Load() != 0 {
		t.Errorf("requests: allowed server %d, refused server %d; want 1 and 0", outerHits.Load(), innerHits.Load())
	}
	// The allowed server itself is reachable.
	if _, err := get(mustNew(t, "127.0.0.2/32", "127.0.0.1/32"), outer.URL); err != nil {
		t.Errorf("GET with both allowed: %v", err)
	}
}

func TestTransportHasNoProxy(t *testing.T) {
	t.Parallel()
	tr := mustNew(t).Transport()
	if tr.Proxy != nil {
		t.Error("Transport().Proxy is set: a proxy would dial the target unchecked")
	}
	if tr.DialContext == nil || tr.DialTLSContext != nil {
		t.Error("Transport() does not dial through the guard")
	}
	if tr == http.DefaultTransport {
		t.Error("Transport() is http.DefaultTransport itself")
	}
}

func TestParseAllow(t *testing.T) {
	t.Parallel()
	got, err := ParseAllow(" 127.0.0.0/8, ::1 ,minio,, Files.Example.COM., 10.1.2.3/8, ::ffff:10.0.0.1, [fe80::1], compose_minio_1 ")
	want := []string{"127.0.0.0/8", "::1/128", "minio", "files.example.com", "10.0.0.0/8", "10.0.0.1/32", "fe80::1/128", "compose_minio_1"}
	if err != nil || strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ParseAllow = %q, %v; want %q", got, err, want)
	}
	if got, err := ParseAllow(""); err != nil || len(got) != 0 {
		t.Errorf("ParseAllow(\"\") = %q, %v; want nothing", got, err)
	}
	for _, bad := range []string{
		"10.0.0.0/33",
		"10.0.0/8",
		"not a host",
		"http://minio",
		"minio:9000",
		"10.0.0.300",
		"fe80::1%eth0",
		"-minio",
		"a..b",
		"*.example.com",
		strings.Repeat("a", 64) + ".com",
	} {
		_, err := ParseAllow("minio, " + bad)
		if err == nil || !strings.Contains(err.Error(), `"`+bad+`"`) {
			t.Errorf("ParseAllow(%q) = %v; want an error naming the entry", bad, err)
		}
		if _, err := New(Config{Allow: []string{bad}}); err == nil {
			t.Errorf("New(Allow: %q) accepted it", bad)
		}
	}
}
