package httpauth

import (
	"net/http"
	"net/http/httptest"
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
