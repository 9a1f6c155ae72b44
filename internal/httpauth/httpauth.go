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
package httpauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"net"
	"net/http"
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
}

// New returns a Guard. Empty tokens in cfg.Tokens are ignored.
func New(cfg Config) *Guard {
	g := &Guard{realm: cfg.Realm}
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
