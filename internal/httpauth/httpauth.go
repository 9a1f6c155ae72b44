// Package httpauth guards ikq's HTTP routes: bearer tokens from IKQ_API_TOKENS,
// compared in constant time, or, with no tokens configured, loopback clients only.
//
//	guard := httpauth.New(httpauth.Config{Tokens: []string{"s3cret"}})
//	mux.Handle("/v1/", guard.Wrap(api))            // Authorization: Bearer s3cret
//	mux.Handle("/monitoring/", guard.WrapBrowser(ui)) // also Basic auth, so a browser can log in
//
// Browsers cannot send a bearer token by themselves, so WrapBrowser also accepts HTTP
// Basic credentials whose password is a token (any user name) and answers 401 with a
// Basic challenge, which makes the browser ask for them.
//
// # Browsers
//
// A page of another site, open in a browser on the same machine, is a loopback
// client too, and a browser attaches cached Basic credentials to its requests. So
// every guarded route refuses a state-changing request (anything but GET, HEAD and
// OPTIONS) that the browser marks as coming from another origin (Sec-Fetch-Site, or
// an Origin that is not the Host), with or without tokens. Without tokens the Host
// must also be a loopback name (localhost, 127.0.0.1, [::1]): a DNS-rebinding page
// reaches 127.0.0.1 under its own name, which the browser then treats as its own
// origin. Clients that are not browsers send neither header and are not affected.
package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"

	"github.com/ikq-dev/ikq/internal/problem"
)

// Config says who may call the guarded routes.
type Config struct {
	// Tokens are the accepted bearer tokens. Empty: only loopback clients are served.
	Tokens []string
	// Realm names the Basic auth realm browsers show. Default "ikq".
	Realm string
}

// Guard checks requests against a Config.
type Guard struct {
	hashes [][32]byte
	realm  string
	cross  *http.CrossOriginProtection
}

// New returns a Guard. Empty tokens in cfg.Tokens are ignored.
func New(cfg Config) *Guard {
	g := &Guard{realm: cfg.Realm, cross: http.NewCrossOriginProtection()}
	if g.realm == "" {
		g.realm = "ikq"
	}
	for _, t := range cfg.Tokens {
		if t = strings.TrimSpace(t); t != "" {
			g.hashes = append(g.hashes, sha256.Sum256([]byte(t)))
		}
	}
	return g
}

// ParseTokens splits IKQ_API_TOKENS: comma-separated, blanks dropped.
func ParseTokens(s string) []string {
	var out []string
	for _, t := range strings.Split(s, ",") {
		if t = strings.TrimSpace(t); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// Open reports whether the guard has no tokens and serves loopback clients only.
func (g *Guard) Open() bool { return len(g.hashes) == 0 }

// valid compares a presented token with every configured one in constant time:
// hashing first makes the comparison independent of the tokens' lengths.
func (g *Guard) valid(token string) bool {
	h := sha256.Sum256([]byte(token))
	ok := 0
	for _, want := range g.hashes {
		ok |= subtle.ConstantTimeCompare(h[:], want[:])
	}
	return ok == 1
}

// Allowed reports whether r may be served; browser allows Basic credentials too.
func (g *Guard) Allowed(r *http.Request, browser bool) bool {
	if g.Open() {
		return isLoopback(r.RemoteAddr)
	}
	if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
		return g.valid(strings.TrimSpace(auth[7:]))
	}
	if browser {
		if _, pass, ok := r.BasicAuth(); ok {
			return g.valid(pass)
		}
	}
	return false
}

// Wrap serves h to allowed requests and answers 401 (or 403 for a non-loopback
// client when no tokens are configured) as application/problem+json otherwise.
func (g *Guard) Wrap(h http.Handler) http.Handler { return g.wrap(h, false) }

// WrapBrowser is Wrap that also accepts Basic credentials and asks browsers for them.
func (g *Guard) WrapBrowser(h http.Handler) http.Handler { return g.wrap(h, true) }

func (g *Guard) wrap(h http.Handler, browser bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.Allowed(r, browser) {
			if g.refusedBrowser(w, r) {
				return
			}
			h.ServeHTTP(w, r)
			return
		}
		if g.Open() {
			refuse(w, http.StatusForbidden, "Forbidden",
				"No API tokens are configured, so only clients on this machine are served. Set IKQ_API_TOKENS to serve others.")
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+g.realm+`"`)
		if browser {
			w.Header().Add("WWW-Authenticate", `Basic realm="`+g.realm+`", charset="UTF-8"`)
		}
		refuse(w, http.StatusUnauthorized, "Unauthorized", "Send one of the tokens of IKQ_API_TOKENS as Authorization: Bearer <token>.")
	})
}

// refusedBrowser answers, and reports true for, what a browser may have sent on
// behalf of another site: a Host that is not a loopback name when the guard is open
// (421), a cross-origin state-changing request (403).
func (g *Guard) refusedBrowser(w http.ResponseWriter, r *http.Request) bool {
	if g.Open() && !loopbackHost(r.Host) {
		refuse(w, http.StatusMisdirectedRequest, "Host not served",
			"The Host header "+quote(r.Host)+" is not a name of this machine. No API tokens are configured, so only "+
				"localhost, 127.0.0.1 and [::1] are served: another name may be a web page's, reaching this machine by DNS rebinding. "+
				"Use one of those names, or set IKQ_API_TOKENS.")
		return true
	}
	if err := g.cross.Check(r); err != nil {
		refuse(w, http.StatusForbidden, "Cross-origin request refused",
			r.Method+" "+r.URL.Path+" came from another site than this server's (Origin "+quote(r.Header.Get("Origin"))+
				", Sec-Fetch-Site "+quote(r.Header.Get("Sec-Fetch-Site"))+"), so a web page may have sent it on the browser's "+
				"credentials; only pages served from this origin, and clients that are not browsers, may change state.")
		return true
	}
	return false
}

// loopbackHost reports whether a Host header names this machine in a way DNS
// cannot rebind: localhost or a loopback IP literal, with any port. An empty Host
// (HTTP/1.0) names nothing a page could have chosen.
func loopbackHost(hostport string) bool {
	if hostport == "" {
		return true
	}
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}

// quote quotes what a client sent, shortened, before it is echoed in a message.
func quote(s string) string {
	const n = 100
	if len(s) > n {
		s = s[:n] + "…"
	}
	return strconv.Quote(s)
}

func refuse(w http.ResponseWriter, status int, title, detail string) {
	problem.WriteDetails(w, problem.Details{Type: "about:blank", Title: title, Status: status, Detail: detail})
}

func isLoopback(remoteAddr string) bool {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
