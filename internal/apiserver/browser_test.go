package apiserver

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/tasks"
)

// browserReq is a request as a browser, or another client, would send it.
type browserReq struct {
	method, path string
	host         string // default: the server's own address
	header       map[string]string
	body         string
	basic        string // a password for Basic auth, if any
}

func (s *stack) send(t *testing.T, r browserReq) (int, string) {
	t.Helper()
	req, err := http.NewRequest(r.method, s.ts.URL+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	if r.host != "" {
		req.Host = r.host
	}
	for k, v := range r.header {
		req.Header.Set(k, v)
	}
	if r.basic != "" {
		req.SetBasicAuth("admin", r.basic)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode >= 400 && resp.Header.Get("Content-Type") != "application/problem+json" {
		t.Errorf("%s %s: %d as %q, want application/problem+json", r.method, r.path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, string(b)
}

// TestNoTokensRefusesOtherSites: without tokens (ikq dev), what a web page open in
// a browser on the same machine can send is refused, each refusal naming what it
// refused; curl-like clients and pages of the API's own origin are served.
func TestNoTokensRefusesOtherSites(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	self := strings.TrimPrefix(s.ts.URL, "http://")
	_, port, _ := strings.Cut(self, ":")
	job := `{"file": "https://example.com/a.jpg", "fileName": "a.jpg"}`
	jsonType := map[string]string{"Content-Type": "application/json"}
	cases := []struct {
		name string
		r    browserReq
		want int
		says string
	}{
		{"cross-site form post, no Content-Type", browserReq{method: "POST", path: "/v1/uploads", body: job,
			header: map[string]string{"Origin": "http://attacker.example", "Sec-Fetch-Site": "cross-site"}}, 403, "another site"},
		{"cross-site post, Origin only (older browser)", browserReq{method: "POST", path: "/v1/uploads", body: job,
			header: map[string]string{"Origin": "http://attacker.example", "Content-Type": "text/plain"}}, 403, "another site"},
		{"cross-site cancel", browserReq{method: "POST", path: "/v1/uploads/x/cancel",
			header: map[string]string{"Sec-Fetch-Site": "cross-site"}}, 403, "another site"},
		{"same-site batch", browserReq{method: "POST", path: "/v1/uploads/batch", body: "[" + job + "]",
			header: map[string]string{"Sec-Fetch-Site": "same-site", "Content-Type": "application/json"}}, 403, "another site"},
		{"post without Content-Type", browserReq{method: "POST", path: "/v1/uploads", body: job}, 415, "without a Content-Type"},
		{"batch without Content-Type", browserReq{method: "POST", path: "/v1/uploads/batch", body: "[" + job + "]"}, 415, "without a Content-Type"},
		{"rebinding Host, list", browserReq{method: "GET", path: "/v1/uploads", host: "attacker.example:" + port}, 421, "Host header"},
		{"rebinding Host, metrics", browserReq{method: "GET", path: "/metrics", host: "attacker.example:" + port}, 421, "Host header"},
		{"rebinding Host, dashboard", browserReq{method: "GET", path: "/monitoring/api/queues", host: "attacker.example:" + port}, 421, "Host header"},
		{"rebinding Host, same-origin post", browserReq{method: "POST", path: "/v1/uploads", body: job, host: "attacker.example:" + port,
			header: map[string]string{"Origin": "http://attacker.example:" + port, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}}, 421, "DNS rebinding"},

		{"curl-like post", browserReq{method: "POST", path: "/v1/uploads", body: job, header: jsonType}, 202, ""},
		{"same-origin page", browserReq{method: "POST", path: "/v1/uploads", body: job,
			header: map[string]string{"Origin": s.ts.URL, "Sec-Fetch-Site": "same-origin", "Content-Type": "application/json"}}, 202, ""},
		{"same-origin page, Origin only", browserReq{method: "POST", path: "/v1/uploads/batch", body: "[" + job + "]",
			header: map[string]string{"Origin": s.ts.URL, "Content-Type": "application/json"}}, 200, ""},
		{"localhost", browserReq{method: "GET", path: "/v1/uploads", host: "localhost:" + port}, 200, ""},
		{"[::1]", browserReq{method: "GET", path: "/metrics", host: "[::1]:" + port}, 200, ""},
		{"cross-site read of health", browserReq{method: "GET", path: "/healthz", host: "attacker.example"}, 200, ""},
	}
	for _, c := range cases {
		got, body := s.send(t, c.r)
		if got != c.want || !strings.Contains(body, c.says) {
			t.Errorf("%s: %d %s\nwant %d saying %q", c.name, got, body, c.want, c.says)
		}
	}
	// Only the three served posts made jobs.
	jobs, _, err := s.producer.List(t.Context(), tasks.ListOptions{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 {
		t.Errorf("%d jobs, want the 3 of the served posts", len(jobs))
	}
}

// TestWritableDashboardRefusesOtherSites: a browser logged in to the writable
// dashboard sends its Basic credentials with any page's request; a page of another
// site still cannot pause a queue.
func TestWritableDashboardRefusesOtherSites(t *testing.T) {
	t.Parallel()
	s := newStackWith(t, func(c *Config) { c.DashboardWritable = true }, token)
	if _, err := s.producer.Enqueue(t.Context(), validJob); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspectorFromRedisClient(s.rdb)
	paused := func() bool {
		t.Helper()
		info, err := insp.GetQueueInfo("default")
		if err != nil {
			t.Fatal(err)
		}
		return info.Paused
	}
	pause := browserReq{method: "POST", path: "/monitoring/api/queues/default:pause", basic: token}
	for _, h := range []map[string]string{
		{"Origin": "https://attacker.example", "Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://attacker.example"},
		{"Sec-Fetch-Site": "same-site"},
		{"Origin": "null"},
	} {
		pause.header = h
		if got, body := s.send(t, pause); got != http.StatusForbidden || !strings.Contains(body, "another site") {
			t.Errorf("cross-site pause with %v: %d %s, want 403", h, got, body)
		}
		if paused() {
			t.Fatalf("a cross-site request with %v paused the queue", h)
		}
	}
	// The dashboard's own page may, and so may a script with the token.
	pause.header = map[string]string{"Origin": s.ts.URL, "Sec-Fetch-Site": "same-origin"}
	if got, body := s.send(t, pause); got >= 300 || !paused() {
		t.Fatalf("same-origin pause: %d %s, paused %v", got, body, paused())
	}
	resume := browserReq{method: "POST", path: "/monitoring/api/queues/default:resume", basic: token}
	if got, body := s.send(t, resume); got >= 300 || paused() {
		t.Fatalf("resume from a script: %d %s", got, body)
	}
}

var validJob = tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg"}
