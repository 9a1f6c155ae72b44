package imagekit

import "net/http"

// NewHTTPClient returns an HTTP client for a Client that runs up to conns
// requests at once. It is a clone of http.DefaultTransport that keeps conns
// idle connections per host, where DefaultTransport keeps 2: past the second
// request in flight, every request that ended dropped its connection, and the
// next one paid for a TCP and TLS handshake of its own. It also opens at most
// conns connections per host, so that a request that starts while another's
// connection is on its way back to the pool waits for it rather than dialing
// one more (which the pool, full, would then drop); more than conns requests
// at once wait their turn. It speaks HTTP/2 where the server offers it. Like
// the default, it has no overall Timeout: an upload is bounded by its context.
func NewHTTPClient(conns int) *http.Client {
	conns = max(conns, 2)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = conns
	t.MaxConnsPerHost = conns
	t.MaxIdleConns = max(t.MaxIdleConns, 2*conns) // the Upload API's host and the files API's
	// Set for clarity: a transport given its own TLS config or dialer (a test's
	// RootCAs, say) tries HTTP/2 only when told to.
	t.ForceAttemptHTTP2 = true
	return &http.Client{Transport: t}
}
