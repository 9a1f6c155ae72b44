package httpauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestGuard(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	withTokens := New(Config{Tokens: ParseTokens(" s3cret , ,other")})
	open := New(Config{})
	cases := []struct {
		name    string
		guard   *Guard
		browser bool
		remote  string
		header  func(r *http.Request)
		want    int
	}{
		{"bearer token", withTokens, false, "10.0.0.5:1234", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cret") }, 204},
		{"second token, lower-case scheme", withTokens, false, "10.0.0.5:1234", func(r *http.Request) { r.Header.Set("Authorization", "bearer other") }, 204},
		{"wrong token", withTokens, false, "10.0.0.5:1234", func(r *http.Request) { r.Header.Set("Authorization", "Bearer s3cre") }, 401},
		{"no token, even from loopback", withTokens, false, "127.0.0.1:1234", func(*http.Request) {}, 401},
		{"basic on an API route", withTokens, false, "10.0.0.5:1234", func(r *http.Request) { r.SetBasicAuth("me", "s3cret") }, 401},
		{"basic on a browser route", withTokens, true, "10.0.0.5:1234", func(r *http.Request) { r.SetBasicAuth("me", "s3cret") }, 204},
		{"wrong basic password", withTokens, true, "10.0.0.5:1234", func(r *http.Request) { r.SetBasicAuth("s3cret", "x") }, 401},
		{"open guard, loopback v4", open, false, "127.0.0.1:5555", func(*http.Request) {}, 204},
		{"open guard, loopback v6", open, false, "[::1]:5555", func(*http.Request) {}, 204},
		{"open guard, other client", open, false, "192.0.2.7:5555", func(*http.Request) {}, 403},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(http.MethodGet, "/v1/uploads", nil)
			r.RemoteAddr = c.remote
			r.Host = "localhost:8080"
			c.header(r)
			w := httptest.NewRecorder()
			h := c.guard.Wrap(ok)
			if c.browser {
				h = c.guard.WrapBrowser(ok)
			}
			h.ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d", w.Code, c.want)
			}
			if c.want >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
			}
			if c.want == 401 && c.browser && len(w.Header().Values("WWW-Authenticate")) != 2 {
				t.Fatalf("browser challenge: %v", w.Header().Values("WWW-Authenticate"))
			}
		})
	}
}

// TestGuardRefusesOtherSites: what a web page of another site can make a browser on
// this machine send is refused, whatever credentials the browser attaches; clients
// that are not browsers, and pages of this origin, are served.
func TestGuardRefusesOtherSites(t *testing.T) {
	t.Parallel()
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	withTokens := New(Config{Tokens: []string{"s3cret"}})
	open := New(Config{})
	basic := func(r *http.Request) { r.SetBasicAuth("me", "s3cret") }
	none := func(*http.Request) {}
	cases := []struct {
		name         string
		guard        *Guard
		method, host string
		header       func(r *http.Request)
		want         int
	}{
		{"open: curl", open, "POST", "127.0.0.1:8080", none, 204},
		{"open: localhost, any port", open, "GET", "localhost:1", none, 204},
		{"open: LOCALHOST", open, "GET", "LOCALHOST", none, 204},
		{"open: [::1]", open, "GET", "[::1]:8080", none, 204},
		{"open: ::1 without port", open, "GET", "[::1]", none, 204},
		{"open: 127.0.0.2", open, "GET", "127.0.0.2:8080", none, 204},
		{"open: rebinding Host on GET", open, "GET", "attacker.example:8080", none, 421},
		{"open: rebinding Host on POST", open, "POST", "attacker.example:8080", none, 421},
		{"open: localhost lookalike", open, "GET", "localhost.attacker.example:8080", none, 421},
		{"open: private address", open, "GET", "192.168.1.10:8080", none, 421},
		{"open: cross-site Origin", open, "POST", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Origin", "http://attacker.example") }, 403},
		{"open: Origin of another port", open, "POST", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:3000") }, 403},
		{"open: Origin null", open, "DELETE", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Origin", "null") }, 403},
		{"open: Sec-Fetch-Site cross-site", open, "POST", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403},
		{"open: Sec-Fetch-Site same-site", open, "PUT", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "same-site") }, 403},
		{"open: same origin", open, "POST", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Origin", "http://127.0.0.1:8080") }, 204},
		{"open: Sec-Fetch-Site same-origin", open, "POST", "localhost:8080", func(r *http.Request) {
			r.Header.Set("Sec-Fetch-Site", "same-origin")
			r.Header.Set("Origin", "http://localhost:8080")
		}, 204},
		{"open: cross-site GET is a read", open, "GET", "127.0.0.1:8080", func(r *http.Request) { r.Header.Set("Sec-Fetch-Site", "cross-site") }, 204},
		{"tokens: any Host", withTokens, "GET", "ikq.example.com", basic, 204},
		{"tokens: cross-site POST with Basic", withTokens, "POST", "ikq.example.com", func(r *http.Request) {
			basic(r)
			r.Header.Set("Origin", "https://attacker.example")
		}, 403},
		{"tokens: Sec-Fetch-Site cross-site with Basic", withTokens, "POST", "ikq.example.com", func(r *http.Request) {
			basic(r)
			r.Header.Set("Sec-Fetch-Site", "cross-site")
		}, 403},
		{"tokens: same-origin POST with Basic", withTokens, "POST", "ikq.example.com", func(r *http.Request) {
			basic(r)
			r.Header.Set("Origin", "https://ikq.example.com")
			r.Header.Set("Sec-Fetch-Site", "same-origin")
		}, 204},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			r := httptest.NewRequest(c.method, "/monitoring/api/queues/default:pause", nil)
			r.RemoteAddr = "127.0.0.1:5555"
			r.Host = c.host
			c.header(r)
			w := httptest.NewRecorder()
			c.guard.WrapBrowser(ok).ServeHTTP(w, r)
			if w.Code != c.want {
				t.Fatalf("status %d, want %d: %s", w.Code, c.want, w.Body)
			}
			if c.want >= 400 && w.Header().Get("Content-Type") != "application/problem+json" {
				t.Fatalf("Content-Type %q", w.Header().Get("Content-Type"))
			}
			body := w.Body.String()
			switch c.want {
			case 421:
				if !strings.Contains(body, "Host header") || !strings.Contains(body, "IKQ_API_TOKENS") {
					t.Fatalf("the refusal does not say what was refused: %s", body)
				}
			case 403:
				if !strings.Contains(body, "another site") {
					t.Fatalf("the refusal does not say what was refused: %s", body)
				}
			}
		})
	}
}
