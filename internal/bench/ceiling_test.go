package bench

import (
	"context"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// runCeiling is asynq alone: n tasks queued, then drained by one asynq server with
// the worker's concurrency, each doing nothing but wait latency (the upload's
// share). It returns tasks/s from the server's start to the last task done.
func runCeiling(b *testing.B, n int, latency time.Duration) float64 {
	b.Helper()
	rdb := redistest.New(b).Client(b)
	client := asynq.NewClientFromRedisClient(rdb)
	var left atomic.Int64
	left.Store(int64(n))
	all := make(chan struct{})
	srv := asynq.NewServerFromRedisClient(rdb, asynq.Config{
		Concurrency: workerConcurrency, LogLevel: asynq.ErrorLevel,
		TaskCheckInterval: 100 * time.Millisecond,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc("noop", func(ctx context.Context, _ *asynq.Task) error {
		if latency > 0 {
			t := time.NewTimer(latency)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-t.C:
			}
		}
		if left.Add(-1) == 0 {
			close(all)
		}
		return nil
	})
	for range n {
		if _, err := client.Enqueue(asynq.NewTask("noop", nil)); err != nil {
			b.Fatal(err)
		}
	}
	start := time.Now()
	if err := srv.Start(mux); err != nil {
		b.Fatal(err)
	}
	defer srv.Shutdown()
	select {
	case <-all:
	case <-time.After(10 * time.Minute):
		b.Fatalf("%d of %d no-op tasks left", left.Load(), n)
	}
	return float64(n) / time.Since(start).Seconds()
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
