package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
)

func TestMain(m *testing.M) { redistest.Main(m) }

const privateKey = "private_bench"

// smallFiles returns n distinct small PNGs.
func smallFiles(tb testing.TB, n int) [][]byte {
	tb.Helper()
	out := make([][]byte, n)
	for i := range out {
		out[i] = ikqtest.PNG(tb, i, 16, 16)
	}
	return out
}

func startEmulator(tb testing.TB, cfg emulator.Config) *httptest.Server {
	tb.Helper()
	cfg.PrivateKey = privateKey
	srv, err := emulator.New(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	tb.Cleanup(func() { ts.Close(); _ = srv.Close() })
	return ts
}

// attempts is a Registerer that keeps the worker's ikq_uploads_total as it is
// registered, so the benchmark can read that one counter without gathering every
// metric.
type attempts struct {
	prometheus.Registerer
	mu      sync.Mutex
	uploads prometheus.Collector
}

func newAttempts() *attempts { return &attempts{Registerer: prometheus.NewRegistry()} }

func (a *attempts) Register(c prometheus.Collector) error {
	if err := a.Registerer.Register(c); err != nil {
		return err
	}
	descs := make(chan *prometheus.Desc)
	go func() { c.Describe(descs); close(descs) }()
	for d := range descs {
		if strings.Contains(d.String(), `"ikq_uploads_total"`) {
			a.mu.Lock()
			a.uploads = c
			a.mu.Unlock()
		}
	}
	return nil
}

// ended is how many upload attempts have ended, whatever their outcome.
func (a *attempts) ended() float64 {
	a.mu.Lock()
	c := a.uploads
	a.mu.Unlock()
	if c == nil {
		return 0
	}
	metrics := make(chan prometheus.Metric)
	go func() { c.Collect(metrics); close(metrics) }()
	sum := 0.0
	for m := range metrics {
		var pb dto.Metric
		if m.Write(&pb) == nil {
			sum += pb.GetCounter().GetValue()
		}
	}
	return sum
}

// wait waits until n upload attempts have ended, looking every millisecond:
// cheaper than asking Redis, whose work per job the benchmarks count.
// waitCompleted then confirms.
func (a *attempts) wait(ctx context.Context, n float64) error {
	for {
		ended := a.ended()
		if ended >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%.0f of %.0f upload attempts ended: %w", ended, n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// waitCompleted waits until n jobs are completed, failing on any failed job. It
// looks every 5 ms: a rate read from its return is at most that late.
func waitCompleted(ctx context.Context, rdb redis.UniversalClient, n int64) error {
	store := jobstore.New(rdb, jobstore.Options{})
	for {
		counts, err := store.Counts(ctx)
		if err != nil {
			return err
		}
		done := counts[jobstore.StatusCompleted]
		if failed := counts[jobstore.StatusFailed]; failed > 0 {
			return fmt.Errorf("%d jobs failed", failed)
		}
		if done >= n {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%d of %d jobs completed: %w", done, n, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}
