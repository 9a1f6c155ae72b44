package netguard

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"code.dny.dev/ssrf"
)

// ErrRefused is what every refused dial wraps: errors.Is finds it through the
// *url.Error and *net.OpError that net/http and net wrap around it.
var ErrRefused = errors.New("netguard: address not allowed")

// RefusedError is a dial the Guard refused. Its message names the host, not the
// address it resolved to: it ends up in job records, and an internal network's
// layout is not the job submitter's business. Addr is there for logs.
type RefusedError struct {
	Host string     // the host the request named; Addr's text when unknown
	Addr netip.Addr // the address the dial would have reached
	Err  error      // the ssrf package's reason (ssrf.ErrProhibitedIP, …)
}

func (e *RefusedError) Error() string {
	host := e.Host
	if host == "" {
		host = e.Addr.String()
	}
	if errors.Is(e.Err, ssrf.ErrProhibitedNetwork) {
		return "refused: " + host + ": network not allowed"
	}
	return "refused: " + host + " resolves to a private/loopback/link-local/metadata address; allow it with IKQ_FETCH_ALLOW"
}

// Unwrap makes errors.Is match both ErrRefused and the ssrf reason.
func (e *RefusedError) Unwrap() []error { return []error{ErrRefused, e.Err} }

// Config configures a Guard. The zero value refuses every non-public address.
type Config struct {
	// Allow lists the destinations let through despite the guard: host names,
	// IPs or CIDRs (IKQ_FETCH_ALLOW, see ParseAllow). A host name matches the
	// request's host exactly, case and a trailing dot aside.
	Allow []string
}

// Guard builds HTTP clients whose connections reach public addresses only, plus
// the ones Config.Allow names. It is safe for concurrent use.
type Guard struct {
	prefixes []netip.Prefix
	hosts    map[string]bool
	ssrf     *ssrf.Guardian
	dialer   *net.Dialer // checked
	open     *net.Dialer // unchecked: for allowed host names
}

// New returns a Guard. An invalid Allow entry is an error naming it.
func New(cfg Config) (*Guard, error) {
	g := &Guard{
		hosts: map[string]bool{},
		// Any port: sources live on any port. tcp4 and tcp6 only (the default).
		ssrf: ssrf.New(ssrf.WithAnyPort()),
	}
	for _, s := range cfg.Allow {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, host, err := parseEntry(s)
		if err != nil {
			return nil, err
		}
		if host != "" {
			g.hosts[host] = true
		} else {
			g.prefixes = append(g.prefixes, p)
		}
	}
	// http.DefaultTransport's dialer settings.
	g.dialer = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second, Control: g.Control}
	g.open = &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return g, nil
}

// Control is a net.Dialer Control function: it refuses, with a *RefusedError,
// a connection to an address that is neither public nor in an allowed IP or
// CIDR. It sees addresses only; host-name entries need Transport's dialer.
func (g *Guard) Control(network, address string, c syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return &RefusedError{Host: address, Err: ssrf.ErrInvalidHostPort}
	}
	if g.allowedAddr(ap.Addr()) {
		return nil
	}
	if err := g.ssrf.Safe(network, address, c); err != nil {
		return &RefusedError{Addr: ap.Addr(), Err: err}
	}
	return nil
}

// check is the decision for one address, as Control makes it for TCP: nil for
// allowed, else a *RefusedError.
func (g *Guard) check(ip netip.Addr) error {
	network := "tcp4"
	if ip.Is6() {
		network = "tcp6"
	}
	return g.Control(network, netip.AddrPortFrom(ip, 443).String(), nil)
}

// allowedAddr says whether an allow entry covers ip. An IPv4-mapped IPv6
// address counts as its IPv4 form: allowing 10.0.0.0/8 allows ::ffff:10.0.0.1.
func (g *Guard) allowedAddr(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	for _, p := range g.prefixes {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// allowedHost says whether host, as a request names it, is an allowed name.
func (g *Guard) allowedHost(host string) bool {
	if len(g.hosts) == 0 {
		return false
	}
	return g.hosts[strings.TrimSuffix(strings.ToLower(host), ".")]
}

// DialContext dials addr ("host:port"): without the check when host is an
// allowed name, else with Control on every address tried. A refusal carries
// the requested host.
func (g *Guard) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if g.allowedHost(host) {
		return g.open.DialContext(ctx, network, addr)
	}
	conn, err := g.dialer.DialContext(ctx, network, addr)
	var re *RefusedError
	if errors.As(err, &re) && re.Host == "" {
		re.Host = host
	}
	return conn, err
}

// Transport returns a clone of http.DefaultTransport that dials through the
// Guard. Its Proxy is nil: through a proxy, the dial would reach the proxy, and
// the proxy whatever the URL names, unchecked.
func (g *Guard) Transport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil
	t.DialContext = g.DialContext
	t.DialTLSContext = nil
	return t
}

// Client returns a client on Transport() with the given Timeout (0: none). Its
// CheckRedirect is left to the caller: every redirect hop opens its connection
// through the Guard, so a redirect to a refused address fails at its dial.
func (g *Guard) Client(timeout time.Duration) *http.Client {
	return &http.Client{Transport: g.Transport(), Timeout: timeout}
}
