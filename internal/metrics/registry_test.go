package metrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

// newInspector returns an asynq inspector and client on a fresh Redis database.
func newInspector(t *testing.T) (*asynq.Inspector, *asynq.Client) {
	t.Helper()
	r := redistest.New(t)
	inspector := asynq.NewInspector(r.AsynqOpt())
	client := asynq.NewClient(r.AsynqOpt())
	t.Cleanup(func() {
		_ = client.Close()
		_ = inspector.Close()
	})
	return inspector, client
}

func jobCounts(context.Context) (map[string]int64, error) {
	return map[string]int64{"queued": 1, "completed": 2}, nil
}

// The registry serves the runtime, ikq's metrics, asynq's queues and the job states
// together; asynq's series appear for a queue created after the registry.
func TestNewRegistry(t *testing.T) {
	t.Parallel()
	inspector, client := newInspector(t)
	m := metrics.New()
	reg, err := metrics.NewRegistry(m, inspector, metrics.NewJobStateCollector(jobCounts))
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	if _, err := client.Enqueue(asynq.NewTask("test:noop", nil)); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	m.UploadFinished("default", metrics.OutcomeCompleted, time.Second)

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"asynq_queue_size", []string{"queue", "default"}, 1},
		{"asynq_tasks_enqueued_total", []string{"queue", "default", "state", "pending"}, 1},
		{"asynq_tasks_enqueued_total", []string{"queue", "default", "state", "active"}, 0},
		{"asynq_queue_paused_total", []string{"queue", "default"}, 0},
		{"ikq_uploads_total", []string{"queue", "default", "outcome", "completed"}, 1},
		{"ikq_jobs", []string{"state", "queued"}, 1},
		{"ikq_jobs", []string{"state", "completed"}, 2},
	} {
		if got := value(t, reg, c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	for _, name := range []string{"go_goroutines", "process_start_time_seconds", "ikq_upload_duration_seconds", "ikq_uploaded_bytes_total", "ikq_webhooks_total"} {
		if count(t, reg, name) == 0 {
			t.Errorf("no %s series", name)
		}
	}
}

func TestNewRegistryWithoutOptionalParts(t *testing.T) {
	t.Parallel()
	reg, err := metrics.NewRegistry(nil, nil, nil)
	if err != nil {
		t.Fatalf("NewRegistry(nil, nil, nil): %v", err)
	}
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if n := f.GetName(); strings.HasPrefix(n, "ikq_") || strings.HasPrefix(n, "asynq_") {
			t.Errorf("unexpected %s", n)
		}
	}
	if count(t, reg, "go_goroutines") == 0 {
		t.Error("no Go runtime metrics")
	}
}

func TestHandlerServesTextWithBothPrefixes(t *testing.T) {
	t.Parallel()
	inspector, client := newInspector(t)
	if _, err := client.Enqueue(asynq.NewTask("test:noop", nil), asynq.Queue("critical")); err != nil {
		t.Fatalf("Enqueue: %v", err)
	}
	m := metrics.New()
	m.BytesUploaded(2048)
	reg, err := metrics.NewRegistry(m, inspector, metrics.NewJobStateCollector(jobCounts))
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	srv := httptest.NewServer(metrics.Handler(reg))
	t.Cleanup(srv.Close)

	status, ctype, body := scrape(t, srv.URL)
	if status != http.StatusOK || !strings.HasPrefix(ctype, "text/plain") {
		t.Fatalf("GET: %d %q; want 200 text/plain", status, ctype)
	}
	for _, line := range []string{
		`asynq_queue_size{queue="critical"} 1`,
		`asynq_tasks_enqueued_total{queue="critical",state="pending"} 1`,
		`ikq_uploaded_bytes_total 2048`,
		`ikq_jobs{state="completed"} 2`,
		`ikq_webhooks_total{kind="account",result="applied"} 0`,
		`# TYPE go_goroutines gauge`,
	} {
		if !strings.Contains(body, "\n"+line+"\n") {
			t.Errorf("exposition lacks %q", line)
		}
	}
}

// A failing collector costs its own series, not the scrape.
func TestHandlerServesDespiteAFailingCollector(t *testing.T) {
	t.Parallel()
	m := metrics.New()
	m.BytesUploaded(7)
	reg, err := metrics.NewRegistry(m, nil, metrics.NewJobStateCollector(func(context.Context) (map[string]int64, error) {
		return nil, errors.New("redis down")
	}))
	if err != nil {
		t.Fatalf("NewRegistry: %v", err)
	}
	srv := httptest.NewServer(metrics.Handler(reg))
	t.Cleanup(srv.Close)

	status, _, body := scrape(t, srv.URL)
	if status != http.StatusOK {
		t.Fatalf("GET: %d, want 200", status)
	}
	if !strings.Contains(body, "\nikq_uploaded_bytes_total 7\n") || strings.Contains(body, "ikq_jobs{") {
		t.Errorf("want ikq_uploaded_bytes_total and no ikq_jobs; body:\n%s", body)
	}
	// promhttp counts a scrape's error after gathering it: the next scrape shows it.
	if _, _, body = scrape(t, srv.URL); !strings.Contains(body, `promhttp_metric_handler_errors_total{cause="gathering"} 1`) {
		t.Errorf("the gathering error is not counted; body:\n%s", body)
	}
}

func scrape(t *testing.T, url string) (status int, contentType, body string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}
