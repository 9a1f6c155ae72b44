// Package netguard keeps ikq's outbound HTTP (URL sources, callbacks, relayed
// webhooks) away from private networks: server-side request forgery protection.
//
// A Guard refuses, at dial time, every destination that is not a public unicast
// address: loopback, private (RFC 1918, fc00::/7), link-local (where the cloud
// metadata service lives, 169.254.169.254), CGNAT, multicast, unspecified and
// the other IANA special-purpose ranges, IPv4-mapped IPv6 forms included. The
// check runs on the address actually dialed, after DNS resolution, for every
// connection: a name that resolves (or re-resolves) to a private address and a
// redirect to one are refused like a literal private URL.
//
//	g, err := netguard.New(netguard.Config{Allow: allow}) // allow: netguard.ParseAllow(os.Getenv("IKQ_FETCH_ALLOW"))
//	if err != nil { ... }
//	client := g.Client(30 * time.Second)
//	_, err = client.Get("http://169.254.169.254/latest/meta-data/")
//	errors.Is(err, netguard.ErrRefused) // true
//
// # Allowing destinations
//
// Config.Allow (IKQ_FETCH_ALLOW) lets chosen destinations through:
//
//   - an IP or CIDR ("10.1.2.3", "127.0.0.0/8", "::1") allows the addresses it
//     covers, whatever name led to them;
//   - a host name ("minio", "files.internal") allows any address that name
//     resolves to, when the request names that host. The Guard's transport sees
//     the requested host before resolution and dials allowed names without the
//     check; Control alone sees only addresses, so a bare net.Dialer with
//     Control honours IP and CIDR entries only.
package netguard
