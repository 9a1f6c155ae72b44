package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

const pipelineFiles = 2000

// BenchmarkPipeline compares ikq with the sequential loop on the same 2000 files.
func BenchmarkPipeline(b *testing.B) {
	files := smallFiles(b, pipelineFiles)
	for _, latency := range []time.Duration{0, 20 * time.Millisecond} {
		b.Run("latency="+latency.String(), func(b *testing.B) {
			var ikqRate, loopRate float64
			var cost jobCost
			for b.Loop() {
				ikqRate, cost = runIkq(b, files, latency)
				loopRate = runLoop(b, files, latency)
			}
			b.ReportMetric(ikqRate, "ikq-jobs/s")
			b.ReportMetric(loopRate, "loop-jobs/s")
			b.ReportMetric(ikqRate/loopRate, "ratio")
			fmt.Fprintf(os.Stdout, "pipeline latency=%s: ikq %.0f jobs/s, sequential loop %.0f jobs/s, ratio %.1fx (%d files, one worker)\n",
				latency, ikqRate, loopRate, ikqRate/loopRate, len(files))
			fmt.Fprintf(os.Stdout, "redis per job latency=%s: ikq %.1f round trips, %.1f commands; asynq %.1f round trips, %.1f commands; other %.1f commands; redis-server %.1f commands (Lua's included), CPU %.3f ms\n",
				latency, cost.ikqRT, cost.ikqCmds, cost.asynqRT, cost.asynqCmds, cost.otherCmds, cost.serverCmds, cost.serverCPUms)
			b.ReportMetric(cost.ikqRT, "ikq-roundtrips/job")
			b.ReportMetric(cost.ikqCmds, "ikq-commands/job")
		})
	}
}

// jobCost is what Redis did per job.
type jobCost struct {
	ikqRT, ikqCmds, asynqRT, asynqCmds, otherCmds, serverCPUms, serverCmds float64
}

// runIkq enqueues every file as a URL job and runs one worker until all complete.
func runIkq(b *testing.B, files [][]byte, latency time.Duration) (float64, jobCost) {
	b.Helper()
	src := ikqtest.FilesServer(b, files)
	emu := startEmulator(b, emulator.Config{Faults: emulator.FaultConfig{Latency: latency}})
	rdb := redistest.New(b).Client(b)
	counter := newRedisCost()
	rdb.AddHook(counter)
	cpu0, cmds0 := serverCPU(b, rdb), serverCommands(b, rdb)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	w, err := worker.New(worker.Config{
		Redis:      rdb,
		UploadURL:  emu.URL + "/api/v1/files/upload",
		PrivateKey: privateKey,
		Sources:    worker.SourceConfig{FetchAllow: []string{"127.0.0.0/8"}}, // the file server

		PollInterval: 100 * time.Millisecond,
	})
	if err != nil {
		b.Fatal(err)
	}
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	jobs := make([]tasks.Upload, len(files))
	for i := range files {
		jobs[i] = tasks.Upload{File: fmt.Sprintf("%s/f/%d.png", src.URL, i), FileName: fmt.Sprintf("f%d.png", i)}
	}

	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(runCtx) }()
	for _, r := range p.EnqueueBatch(ctx, jobs) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	if err := waitCompleted(ctx, rdb, int64(len(files))); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	n := len(files)
	var c jobCost
	c.ikqRT, c.ikqCmds = counter.perJob("ikq", n)
	c.asynqRT, c.asynqCmds = counter.perJob("asynq", n)
	_, c.otherCmds = counter.perJob("other", n)
	c.serverCPUms = (serverCPU(b, rdb) - cpu0) * 1000 / float64(n)
	c.serverCmds = (serverCommands(b, rdb) - cmds0) / float64(n)
	return float64(n) / elapsed.Seconds(), c
}

// runLoop is what ImageKit's docs suggest for bulk uploads: for each file, download
// it and call the Upload API, one after another.
func runLoop(b *testing.B, files [][]byte, latency time.Duration) float64 {
	b.Helper()
	src := ikqtest.FilesServer(b, files)
	emu := startEmulator(b, emulator.Config{Faults: emulator.FaultConfig{Latency: latency}})
	client := &http.Client{}
	start := time.Now()
	for i := range files {
		resp, err := client.Get(fmt.Sprintf("%s/f/%d.png", src.URL, i))
		if err != nil {
			b.Fatal(err)
		}
		content, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			b.Fatal(err)
		}
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		_ = mw.WriteField("fileName", fmt.Sprintf("f%d.png", i))
		fw, _ := mw.CreateFormFile("file", fmt.Sprintf("f%d.png", i))
		_, _ = fw.Write(content) // into memory: it cannot fail
		_ = mw.Close()
		req, _ := http.NewRequest(http.MethodPost, emu.URL+"/api/v1/files/upload", &body)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.SetBasicAuth(privateKey, "")
		up, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, up.Body)
		_ = up.Body.Close()
		if up.StatusCode != http.StatusOK {
			b.Fatalf("upload %d: status %d", i, up.StatusCode)
		}
	}
	return float64(len(files)) / time.Since(start).Seconds()
}
