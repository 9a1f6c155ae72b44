package bench

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

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
