package metrics_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ikq-dev/ikq/internal/metrics"
)

func newRegistered(t *testing.T) (*metrics.Metrics, *prometheus.Registry) {
	t.Helper()
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatalf("Register: %v", err)
	}
	return m, reg
}

func TestUploadsCountAndTime(t *testing.T) {
	t.Parallel()
	m, reg := newRegistered(t)
	m.UploadFinished("default", metrics.OutcomeCompleted, 40*time.Millisecond)
	m.UploadFinished("default", metrics.OutcomeCompleted, 3*time.Second)
	m.UploadFinished("default", metrics.OutcomeRetrying, 200*time.Millisecond)
	m.UploadFinished("critical", metrics.OutcomeFailed, 45*time.Minute)

	gatherAndCompare(t, reg, `
# HELP ikq_uploads_total Upload attempts that ended, by queue and outcome (completed, uploaded, retrying, throttled, failed, canceled).
# TYPE ikq_uploads_total counter
ikq_uploads_total{outcome="completed",queue="default"} 2
ikq_uploads_total{outcome="failed",queue="critical"} 1
ikq_uploads_total{outcome="retrying",queue="default"} 1
`, "ikq_uploads_total")

	gatherAndCompare(t, reg, `
# HELP ikq_upload_duration_seconds Duration of upload attempts, from the worker taking the task to its outcome, by queue and outcome.
# TYPE ikq_upload_duration_seconds histogram
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="0.05"} 1
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="0.1"} 1
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="0.25"} 1
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="0.5"} 1
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="1"} 1
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="2.5"} 1
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="5"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="10"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="30"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="60"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="120"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="300"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="600"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="1200"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="1800"} 2
ikq_upload_duration_seconds_bucket{outcome="completed",queue="default",le="+Inf"} 2
ikq_upload_duration_seconds_sum{outcome="completed",queue="default"} 3.04
ikq_upload_duration_seconds_count{outcome="completed",queue="default"} 2
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="0.05"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="0.1"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="0.25"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="0.5"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="1"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="2.5"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="5"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="10"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="30"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="60"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="120"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="300"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="600"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="1200"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="1800"} 0
ikq_upload_duration_seconds_bucket{outcome="failed",queue="critical",le="+Inf"} 1
ikq_upload_duration_seconds_sum{outcome="failed",queue="critical"} 2700
ikq_upload_duration_seconds_count{outcome="failed",queue="critical"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="0.05"} 0
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="0.1"} 0
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="0.25"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="0.5"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="1"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="2.5"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="5"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="10"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="30"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="60"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="120"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="300"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="600"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="1200"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="1800"} 1
ikq_upload_duration_seconds_bucket{outcome="retrying",queue="default",le="+Inf"} 1
ikq_upload_duration_seconds_sum{outcome="retrying",queue="default"} 0.2
ikq_upload_duration_seconds_count{outcome="retrying",queue="default"} 1
`, "ikq_upload_duration_seconds")

	n, sum := histogram(t, reg, "ikq_upload_duration_seconds", "queue", "default", "outcome", metrics.OutcomeCompleted)
	if n != 2 || math.Abs(sum-3.04) > 1e-9 {
		t.Errorf("completed histogram: count %d, sum %g; want 2, 3.04", n, sum)
	}
}

func TestBytesUploaded(t *testing.T) {
	t.Parallel()
	m, reg := newRegistered(t)
	m.BytesUploaded(1000)
	m.BytesUploaded(24)
	m.BytesUploaded(0)  // a 202 answer names no size
	m.BytesUploaded(-1) // would panic a counter
	if got := value(t, reg, "ikq_uploaded_bytes_total"); got != 1024 {
		t.Errorf("ikq_uploaded_bytes_total = %g, want 1024", got)
	}
}

func TestSourceFetched(t *testing.T) {
	t.Parallel()
	m, reg := newRegistered(t)
	m.SourceFetched("https", metrics.FetchOK, 120*time.Millisecond)
	m.SourceFetched("https", metrics.FetchOK, 80*time.Millisecond)
	m.SourceFetched("https", metrics.FetchError, 8*time.Second)
	m.SourceFetched("inline", metrics.FetchOK, 0)

	if got := count(t, reg, "ikq_source_fetch_duration_seconds"); got != 3 {
		t.Errorf("%d source fetch series, want 3", got)
	}
	for _, c := range []struct {
		scheme, outcome string
		count           uint64
		sum             float64
	}{
		{"https", metrics.FetchOK, 2, 0.2},
		{"https", metrics.FetchError, 1, 8},
		{"inline", metrics.FetchOK, 1, 0},
	} {
		n, sum := histogram(t, reg, "ikq_source_fetch_duration_seconds", "scheme", c.scheme, "outcome", c.outcome)
		if n != c.count || math.Abs(sum-c.sum) > 1e-9 {
			t.Errorf("%s %s: count %d, sum %g; want %d, %g", c.scheme, c.outcome, n, sum, c.count, c.sum)
		}
	}
	// 8s is the header timeout: it has a bucket of its own.
	m8 := find(t, reg, "ikq_source_fetch_duration_seconds", "scheme", "https", "outcome", metrics.FetchError)
	for _, b := range m8.GetHistogram().GetBucket() {
		if b.GetUpperBound() == 8 && b.GetCumulativeCount() != 1 {
			t.Errorf("bucket le=8 has %d, want 1", b.GetCumulativeCount())
		}
	}
}

func TestWebhooksAndCallbacksStartAtZero(t *testing.T) {
	t.Parallel()
	m, reg := newRegistered(t)
	m.Webhook(metrics.WebhookExtension, metrics.WebhookApplied)
	m.Webhook(metrics.WebhookExtension, metrics.WebhookApplied)
	m.Webhook(metrics.WebhookAccount, metrics.WebhookRejected)
	m.Callback(metrics.CallbackRetrying)
	m.Callback(metrics.CallbackDelivered)

	gatherAndCompare(t, reg, `
# HELP ikq_callbacks_total Deliveries of job records to apps' callback URLs, by result (delivered, retrying, failed).
# TYPE ikq_callbacks_total counter
ikq_callbacks_total{result="delivered"} 1
ikq_callbacks_total{result="failed"} 0
ikq_callbacks_total{result="retrying"} 1
# HELP ikq_webhooks_total ImageKit webhooks received, by kind (extension, account) and result (applied, duplicate, rejected, invalid).
# TYPE ikq_webhooks_total counter
ikq_webhooks_total{kind="account",result="applied"} 0
ikq_webhooks_total{kind="account",result="duplicate"} 0
ikq_webhooks_total{kind="account",result="invalid"} 0
ikq_webhooks_total{kind="account",result="rejected"} 1
ikq_webhooks_total{kind="extension",result="applied"} 2
ikq_webhooks_total{kind="extension",result="duplicate"} 0
ikq_webhooks_total{kind="extension",result="invalid"} 0
ikq_webhooks_total{kind="extension",result="rejected"} 0
`, "ikq_webhooks_total", "ikq_callbacks_total")
}

func TestNilMetricsRecordNothing(t *testing.T) {
	t.Parallel()
	var m *metrics.Metrics
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		t.Fatalf("Register of nil: %v", err)
	}
	m.UploadFinished("default", metrics.OutcomeCompleted, time.Second)
	m.BytesUploaded(10)
	m.SourceFetched("https", metrics.FetchOK, time.Second)
	m.Webhook(metrics.WebhookAccount, metrics.WebhookApplied)
	m.Callback(metrics.CallbackDelivered)
	families, err := reg.Gather()
	if err != nil || len(families) != 0 {
		t.Errorf("Gather after nil records: %d families, %v; want none", len(families), err)
	}
}

// Register is all or nothing: when one name is taken, none of ikq's metrics stay.
func TestRegisterConflict(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	taken := prometheus.NewCounter(prometheus.CounterOpts{Name: "ikq_callbacks_total", Help: "someone else's"})
	reg.MustRegister(taken)
	if err := metrics.New().Register(reg); err == nil {
		t.Fatal("Register over a taken name succeeded")
	}
	families, _ := reg.Gather()
	if len(families) != 1 {
		var names []string
		for _, f := range families {
			names = append(names, f.GetName())
		}
		t.Errorf("families after a failed Register: %v; want only ikq_callbacks_total", names)
	}
	if err := metrics.New().Register(prometheus.NewRegistry()); err != nil {
		t.Errorf("Register into a fresh registry: %v", err)
	}
}

func TestConcurrentRecording(t *testing.T) {
	t.Parallel()
	m, reg := newRegistered(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 100 {
				m.UploadFinished("low", metrics.OutcomeCompleted, time.Millisecond)
				m.BytesUploaded(1)
			}
		})
	}
	wg.Wait()
	if got := value(t, reg, "ikq_uploads_total", "queue", "low", "outcome", metrics.OutcomeCompleted); got != 800 {
		t.Errorf("ikq_uploads_total = %g, want 800", got)
	}
	if got := value(t, reg, "ikq_uploaded_bytes_total"); got != 800 {
		t.Errorf("ikq_uploaded_bytes_total = %g, want 800", got)
	}
}

func TestJobStateCollector(t *testing.T) {
	t.Parallel()
	var calls int
	c := metrics.NewJobStateCollector(func(ctx context.Context) (map[string]int64, error) {
		calls++
		if _, ok := ctx.Deadline(); !ok {
			t.Error("count called without a deadline")
		}
		return map[string]int64{"queued": 3, "active": 1, "completed": 42, "failed": 0}, nil
	})
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	gatherAndCompare(t, reg, `
# HELP ikq_jobs Jobs in the job store, by state (queued, active, retrying, uploaded, completed, failed, canceled), read at scrape time.
# TYPE ikq_jobs gauge
ikq_jobs{state="active"} 1
ikq_jobs{state="completed"} 42
ikq_jobs{state="failed"} 0
ikq_jobs{state="queued"} 3
`, "ikq_jobs")
	if calls != 1 {
		t.Errorf("count called %d times for one scrape, want 1", calls)
	}
}

// A failing count is an error of that scrape, not a panic, and leaves no stale series.
func TestJobStateCollectorError(t *testing.T) {
	t.Parallel()
	m, reg := newRegistered(t)
	reg.MustRegister(metrics.NewJobStateCollector(func(context.Context) (map[string]int64, error) {
		return nil, errors.New("redis: connection refused")
	}))
	m.BytesUploaded(5)
	families, err := reg.Gather()
	if err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Gather error %v, want the count's error", err)
	}
	var names []string
	for _, f := range families {
		names = append(names, f.GetName())
	}
	if strings.Contains(strings.Join(names, " "), "ikq_jobs") || !strings.Contains(strings.Join(names, " "), "ikq_uploaded_bytes_total") {
		t.Errorf("families gathered despite the error: %v; want ikq_uploaded_bytes_total and no ikq_jobs", names)
	}
}
