package apiserver

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/httpauth"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

func TestMain(m *testing.M) { ikqtest.Main(m) }

const token = "test-token-1234"

type stack struct {
	ts       *httptest.Server
	producer *producer.Client
	rdb      redis.UniversalClient
}

// newStack serves an apiserver over loopback; webhooks get a stand-in handler so the
// webhook routes exist.
func newStack(t *testing.T, tokens ...string) *stack {
	t.Helper()
	return newStackWith(t, func(*Config) {}, tokens...)
}

// newStackWith is newStack with the Config changed by edit.
func newStackWith(t *testing.T, edit func(*Config), tokens ...string) *stack {
	t.Helper()
	r := redistest.New(t)
	rdb := r.Client(t)
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Close() })
	webhooks := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	cfg := Config{Redis: rdb, RedisOpt: r.AsynqOpt(), Producer: p,
		Guard: httpauth.New(httpauth.Config{Tokens: tokens}), Webhooks: webhooks}
	edit(&cfg)
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() { ts.Close(); _ = srv.Close() })
	return &stack{ts: ts, producer: p, rdb: rdb}
}

// answer is the part of a response the tests read; do has read and closed its body.
type answer struct {
	StatusCode int
	Header     http.Header
}

func (s *stack) do(t *testing.T, method, path, auth string, body string) (*answer, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, s.ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	return &answer{StatusCode: resp.StatusCode, Header: resp.Header}, b
}

// openAPIRoutes lists "METHOD /path" for every operation of the checked-in document.
func openAPIRoutes(t *testing.T) []string {
	t.Helper()
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.1") {
		t.Fatalf("openapi version %q, want 3.1", doc.OpenAPI)
	}
	var out []string
	for path, ops := range doc.Paths {
		for method := range ops {
			switch method {
			case "get", "post", "put", "patch", "delete":
				out = append(out, strings.ToUpper(method)+" "+path)
			}
		}
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIAgreesWithRoutes: every documented operation is served (not 404/405),
// and every route the server serves is documented.
func TestOpenAPIAgreesWithRoutes(t *testing.T) {
	t.Parallel()
	s := newStack(t, token)
	job, err := s.producer.Enqueue(t.Context(), tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg"})
	if err != nil {
		t.Fatal(err)
	}
	documented := openAPIRoutes(t)
	served := []string{
		"POST /v1/uploads", "GET /v1/uploads", "POST /v1/uploads/batch", "GET /v1/uploads/{id}",
		"POST /v1/uploads/{id}/cancel", "POST /v1/uploads/{id}/retry",
		"GET /v1/runs", "GET /v1/runs/{id}", "GET /v1/runs/{id}/uploads", "POST /v1/runs/{id}/retry", "GET /v1/runs/{id}/results",
		"POST /webhooks/imagekit/{id}", "POST /webhooks/imagekit",
		"GET /metrics", "GET /healthz", "GET /readyz", "GET /openapi.json", "GET /monitoring/",
	}
	sort.Strings(served)
	if strings.Join(documented, "\n") != strings.Join(served, "\n") {
		t.Fatalf("documented routes:\n%s\n\nserved routes:\n%s", strings.Join(documented, "\n"), strings.Join(served, "\n"))
	}
	for _, route := range documented {
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(path, "{id}", job.ID)
		body := ""
		if method == http.MethodPost && strings.HasPrefix(path, "/v1/") {
			body = `{"file":"https://example.com/b.jpg","fileName":"b.jpg"}`
			if strings.HasSuffix(path, "/batch") {
				body = "[" + body + "]"
			}
		}
		resp, _ := s.do(t, method, path, "Bearer "+token, body)
		if resp.StatusCode == http.StatusNotFound && !strings.Contains(path, "/cancel") && !strings.Contains(path, "/retry") && !strings.Contains(path, "/runs/") ||
			resp.StatusCode == http.StatusMethodNotAllowed {
			t.Errorf("%s: %d, want the route served", route, resp.StatusCode)
		}
	}
	// And a route nobody documented is not served.
	if resp, _ := s.do(t, http.MethodGet, "/v2/uploads", "Bearer "+token, ""); resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /v2/uploads: %d, want 404", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	t.Parallel()
	s := newStack(t, token)
	guarded := []string{"GET /v1/uploads", "POST /v1/uploads", "GET /metrics", "GET /monitoring/", "GET /monitoring/api/queues"}
	for _, route := range guarded {
		method, path, _ := strings.Cut(route, " ")
		if resp, _ := s.do(t, method, path, "", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s without a token: %d, want 401", route, resp.StatusCode)
		}
		if resp, _ := s.do(t, method, path, "Bearer wrong", ""); resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("%s with a wrong token: %d, want 401", route, resp.StatusCode)
		}
	}
	// Open routes: health, readiness, the document, and webhooks (which carry their own proof).
	for _, route := range []string{"GET /healthz", "GET /readyz", "GET /openapi.json", "POST /webhooks/imagekit"} {
		method, path, _ := strings.Cut(route, " ")
		if resp, _ := s.do(t, method, path, "", ""); resp.StatusCode >= 400 {
			t.Errorf("%s without a token: %d, want it served", route, resp.StatusCode)
		}
	}
	// A browser logs in to the dashboard with Basic auth, the token as password.
	req, _ := http.NewRequest(http.MethodGet, s.ts.URL+"/monitoring/", nil)
	req.SetBasicAuth("admin", token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard with Basic auth: %d", resp.StatusCode)
	}
	if resp, _ := s.do(t, http.MethodGet, "/monitoring/", "", ""); !strings.Contains(strings.Join(resp.Header.Values("WWW-Authenticate"), " "), "Basic") {
		t.Fatalf("the dashboard does not ask a browser to log in: %q", resp.Header.Values("WWW-Authenticate"))
	}
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	s := newStack(t, token)
	if _, err := s.producer.Enqueue(t.Context(), tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg"}); err != nil {
		t.Fatal(err)
	}
	resp, body := s.do(t, http.MethodGet, "/monitoring/", "Bearer "+token, "")
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "<html") {
		t.Fatalf("dashboard page: %d %.200s", resp.StatusCode, body)
	}
	resp, body = s.do(t, http.MethodGet, "/monitoring/api/queues", "Bearer "+token, "")
	var queues struct {
		Queues []struct {
			Queue   string `json:"queue"`
			Pending int    `json:"pending"`
		} `json:"queues"`
	}
	if err := json.Unmarshal(body, &queues); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("dashboard API: %d %s", resp.StatusCode, body)
	}
	if len(queues.Queues) != 1 || queues.Queues[0].Queue != "default" || queues.Queues[0].Pending != 1 {
		t.Fatalf("dashboard queues = %+v, want default with 1 pending", queues.Queues)
	}
	// Read-only by default: the dashboard cannot delete a queue.
	if resp, _ := s.do(t, http.MethodDelete, "/monitoring/api/queues/default", "Bearer "+token, ""); resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("DELETE through the read-only dashboard: %d, want 405", resp.StatusCode)
	}
}

func TestHealthAndMetrics(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	if resp, body := s.do(t, http.MethodGet, "/healthz", "", ""); resp.StatusCode != 200 || !strings.Contains(string(body), "ok") {
		t.Fatalf("healthz: %d %s", resp.StatusCode, body)
	}
	if resp, body := s.do(t, http.MethodGet, "/readyz", "", ""); resp.StatusCode != 200 || !strings.Contains(string(body), "ready") {
		t.Fatalf("readyz: %d %s", resp.StatusCode, body)
	}
	// Without tokens, a loopback client is served.
	if _, err := s.producer.Enqueue(t.Context(), tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg"}); err != nil {
		t.Fatal(err)
	}
	resp, body := s.do(t, http.MethodGet, "/metrics", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("metrics: %d", resp.StatusCode)
	}
	for _, want := range []string{`asynq_queue_size{queue="default"} 1`, `ikq_jobs{state="queued"} 1`, "ikq_uploaded_bytes_total 0", `ikq_webhooks_total{kind="extension",result="applied"} 0`} {
		if !strings.Contains(string(body), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

func TestReadyzWhenRedisIsDown(t *testing.T) {
	t.Parallel()
	srvRedis := redistest.NewServer(t)
	r := srvRedis.Redis()
	rdb := r.Client(t)
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	srv, err := New(Config{Redis: rdb, RedisOpt: asynq.RedisClientOpt{Addr: r.Addr}, Producer: p})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer func() { ts.Close(); _ = srv.Close() }()
	srvRedis.Stop(t)
	resp, err := http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("readyz with Redis down: %d, want 503", resp.StatusCode)
	}
	srvRedis.Start(t)
	resp, err = http.Get(ts.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("readyz after Redis is back: %d, want 200", resp.StatusCode)
	}
}
