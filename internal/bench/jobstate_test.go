package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

const jobStateJobs = 2000

// BenchmarkJobState measures the job state work of one job on the happy path, alone on
// a Redis of its own, so that redis-server's counts are ikq's: the producer's Create,
// the worker's Start (spec and "active") and its outcome (RecordUpload: completed,
// with its file). No asynq: the enqueue and the task's own bookkeeping are asynq's.
func BenchmarkJobState(b *testing.B) {
	var c jobCost
	var byName map[string]float64
	for b.Loop() {
		c, byName = runJobState(b, jobStateJobs)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return byName[names[i]] > byName[names[j]] })
	var parts []string
	for _, n := range names {
		parts = append(parts, fmt.Sprintf("%s %.1f", n, byName[n]))
	}
	fmt.Fprintf(os.Stdout, "job state per job (happy path, Redis of its own): %.1f round trips, %.1f commands sent; redis-server %.1f commands (%s), CPU %.3f ms\n",
		c.ikqRT, c.ikqCmds, c.serverCmds, strings.Join(parts, ", "), c.serverCPUms)
	b.ReportMetric(c.ikqRT, "roundtrips/job")
	b.ReportMetric(c.serverCmds, "server-commands/job")
	b.ReportMetric(c.serverCPUms, "server-cpu-ms/job")
}

// runJobState runs n jobs through the happy path, one after another.
func runJobState(b *testing.B, n int) (jobCost, map[string]float64) {
	b.Helper()
	srv := redistest.NewServer(b)
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr})
	b.Cleanup(func() { _ = rdb.Close() })
	store := jobstore.New(rdb, jobstore.Options{})
	queue := asynq.NewClientFromRedisClient(rdb)
	tracker := completion.New(completion.Config{Store: store, Redis: rdb, Queue: queue,
		Logger: slog.New(slog.DiscardHandler)})
	// The producer is another process: its Store remembers nothing for the worker.
	producerStore := jobstore.New(rdb, jobstore.Options{})
	ctx := context.Background()
	spec := json.RawMessage(`{"file":"https://example.com/a.png","fileName":"a.png"}`)

	counter := newRedisCost()
	rdb.AddHook(counter)
	_ = rdb.ConfigResetStat(ctx).Err()
	cpu0, stats0 := serverCPU(b, rdb), serverCommandStats(b, rdb)
	for i := range n {
		job, _, err := producerStore.Create(ctx, &jobstore.Job{Queue: tasks.QueueDefault, MaxAttempts: 5}, spec)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := store.Start(ctx, job.ID, jobstore.StatusActive, "attempt 1 of 5", func(j *jobstore.Job, raw json.RawMessage) error {
			_, err := tasks.Decode(raw)
			j.Attempts = 1
			return err
		}); err != nil {
			b.Fatal(err)
		}
		fileID := "file_" + strconv.Itoa(i)
		got, err := tracker.RecordUpload(ctx, job.ID, completion.Upload{
			Result: json.RawMessage(`{"fileId":"` + fileID + `","name":"a.png","filePath":"/a.png"}`),
			FileID: fileID, FilePath: "/a.png", Items: map[string]string{},
		})
		if err != nil {
			b.Fatal(err)
		}
		if got.Status != jobstore.StatusCompleted {
			b.Fatalf("job %s is %s", job.ID, got.Status)
		}
	}
	var c jobCost
	c.ikqRT, c.ikqCmds = counter.perJob("ikq", n)
	c.serverCPUms = (serverCPU(b, rdb) - cpu0) * 1000 / float64(n)
	byName := map[string]float64{}
	for name, calls := range serverCommandStats(b, rdb) {
		if d := calls - stats0[name]; d > 0 && name != "info" && name != "config|resetstat" {
			byName[name] = d / float64(n)
			c.serverCmds += d / float64(n)
		}
	}
	return c, byName
}

// serverCommandStats is the number of calls of each command redis-server has run,
// those run by Lua scripts included (INFO commandstats).
func serverCommandStats(tb testing.TB, rdb redis.UniversalClient) map[string]float64 {
	tb.Helper()
	info, err := rdb.Info(context.Background(), "commandstats").Result()
	if err != nil {
		tb.Fatal(err)
	}
	out := map[string]float64{}
	for _, line := range strings.Split(info, "\r\n") {
		name, stats, ok := strings.Cut(line, ":calls=")
		if !ok {
			continue
		}
		calls, _, _ := strings.Cut(stats, ",")
		f, _ := strconv.ParseFloat(calls, 64)
		out[strings.TrimPrefix(name, "cmdstat_")] = f
	}
	return out
}
