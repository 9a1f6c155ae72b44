package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"runtime"
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

// pipelineLatencies are the emulator's added upload latencies the pipeline is run at.
var pipelineLatencies = []time.Duration{0, time.Millisecond, 5 * time.Millisecond, 20 * time.Millisecond, 100 * time.Millisecond}

// workerConcurrency is the worker's default: uploads in flight.
const workerConcurrency = 32

// loopBudget bounds the time the sequential loop is given at one latency: it runs
// fewer files when slow (at 100 ms, 2000 files would take minutes).
const loopBudget = 4 * time.Second

// pipelinePoint is what one latency gave.
type pipelinePoint struct {
	latency                     time.Duration
	ikq, loop, ceiling          float64 // jobs/s
	enqueue                     float64 // jobs/s into producer.EnqueueBatch, before the worker starts
	cost                        jobCost
	loopFiles                   int
	bytesPerJob, allocsPerJob   float64
	allocBytesPerJob, cpuPerJob float64 // the test process (worker, emulator, file server)
}

// BenchmarkPipeline compares ikq with the sequential loop on the same 2000 files, and
// with asynq's ceiling (tasks that only wait the upload's latency), at each latency of
// pipelineLatencies. ikq and the ceiling each drain a backlog: every job is queued
// before the worker starts, and the rate is from the worker's start to the last job
// done (the enqueue is timed on its own). Then the REST API's enqueue rate and the
// CPU of a worker process per job. It prints one summary table and, when
// IKQ_BENCH_PLOT names a file, plots jobs/s against latency there (PNG).
func BenchmarkPipeline(b *testing.B) {
	files := smallFiles(b, pipelineFiles)
	var points []pipelinePoint
	for _, latency := range pipelineLatencies {
		b.Run("latency="+latency.String(), func(b *testing.B) {
			var pt pipelinePoint
			for b.Loop() {
				pt = runIkq(b, files, latency)
				pt.loopFiles = min(len(files), max(50, int(loopBudget/max(latency, time.Millisecond))))
				pt.loop = runLoop(b, files[:pt.loopFiles], latency)
				pt.ceiling = runCeiling(b, len(files), latency)
			}
			points = append(points, pt)
			b.ReportMetric(pt.ikq, "ikq-jobs/s")
			b.ReportMetric(pt.loop, "loop-jobs/s")
			b.ReportMetric(pt.ceiling, "ceiling-jobs/s")
			b.ReportMetric(pt.cost.ikqRT, "ikq-roundtrips/job")
			b.ReportMetric(pt.cost.ikqCmds, "ikq-commands/job")
			c := pt.cost
			fmt.Fprintf(os.Stdout, "pipeline latency=%s: ikq %.0f jobs/s, sequential loop %.0f jobs/s (%d files), ratio %.1fx, asynq ceiling %.0f jobs/s (%.0f%% of it) (%d files, one worker, each draining a backlog enqueued at %.0f jobs/s)\n",
				latency, pt.ikq, pt.loop, pt.loopFiles, pt.ikq/pt.loop, pt.ceiling, 100*pt.ikq/pt.ceiling, len(files), pt.enqueue)
			fmt.Fprintf(os.Stdout, "redis per job latency=%s: ikq %.1f round trips, %.1f commands; asynq %.1f round trips, %.1f commands; other %.1f commands; redis-server %.1f commands (Lua's included), CPU %.3f ms; %.0f bytes kept per finished job\n",
				latency, c.ikqRT, c.ikqCmds, c.asynqRT, c.asynqCmds, c.otherCmds, c.serverCmds, c.serverCPUms, pt.bytesPerJob)
			fmt.Fprintf(os.Stdout, "process per job latency=%s: %.0f allocations, %.1f KB allocated, %.3f ms CPU (worker, emulator and file server in one process)\n",
				latency, pt.allocsPerJob, pt.allocBytesPerJob/1000, pt.cpuPerJob)
		})
	}
	var rest restRates
	b.Run("rest", func(b *testing.B) {
		for b.Loop() {
			rest = runREST(b)
		}
		b.ReportMetric(rest.single, "enqueues/s")
		b.ReportMetric(rest.batch, "batch-items/s")
		fmt.Fprintf(os.Stdout, "rest enqueue into one API process: %.0f jobs/s one a request (%d clients), %.0f jobs/s in batches of %d (%d clients)\n",
			rest.single, restClients, rest.batch, restBatch, restBatchClients)
	})
	var wp workerProcess
	b.Run("worker-process", func(b *testing.B) {
		for b.Loop() {
			wp = runWorkerProcess(b, files)
		}
		b.ReportMetric(wp.cpuMs, "worker-cpu-ms/job")
		b.ReportMetric(wp.allocs, "worker-allocs/job")
		fmt.Fprintf(os.Stdout, "worker process latency=0s: %.0f jobs/s, CPU %.3f ms per job (user %.3f, system %.3f), %.0f allocations and %.1f KB allocated per job, peak RSS %.1f MiB\n",
			wp.rate, wp.cpuMs, wp.userMs, wp.sysMs, wp.allocs, wp.allocBytes/1000, float64(wp.peakRSS)/(1<<20))
	})
	if len(points) != len(pipelineLatencies) {
		return // run in part (-bench with a filter)
	}
	printSummary(points, rest, wp)
	if path := os.Getenv("IKQ_BENCH_PLOT"); path != "" {
		if err := plotPipeline(path, points); err != nil {
			b.Fatal(err)
		}
		fmt.Fprintf(os.Stdout, "pipeline plot: %s\n", path)
	}
}

// printSummary prints the figures of one run side by side.
func printSummary(points []pipelinePoint, rest restRates, wp workerProcess) {
	w := os.Stdout
	fmt.Fprintf(w, "\nsummary (%d files, one worker of %d uploads in flight draining a backlog, 2 cores):\n", pipelineFiles, workerConcurrency)
	fmt.Fprintf(w, "%-9s %9s %9s %9s %9s %9s %9s %9s\n", "latency", "ikq/s", "loop/s", "ikq/loop", "ceiling/s", "ikq/ceil", "ideal%", "enqueue/s")
	for _, p := range points {
		ideal := "-"
		if p.latency > 0 {
			ideal = fmt.Sprintf("%.0f%%", 100*p.ikq/(float64(workerConcurrency)/p.latency.Seconds()))
		}
		fmt.Fprintf(w, "%-9s %9.0f %9.0f %8.1fx %9.0f %8.0f%% %9s %9.0f\n", p.latency, p.ikq, p.loop, p.ikq/p.loop, p.ceiling, 100*p.ikq/p.ceiling, ideal, p.enqueue)
	}
	c := points[0].cost
	fmt.Fprintf(w, "per job at 0 ms: ikq %.1f round trips and %.1f commands sent, asynq %.1f and %.1f; redis-server %.1f commands, %.3f ms CPU; %.0f bytes kept per finished job\n",
		c.ikqRT, c.ikqCmds, c.asynqRT, c.asynqCmds, c.serverCmds, c.serverCPUms, points[0].bytesPerJob)
	fmt.Fprintf(w, "worker process at 0 ms: %.0f jobs/s, %.3f ms CPU, %.0f allocations and %.1f KB allocated per job\n", wp.rate, wp.cpuMs, wp.allocs, wp.allocBytes/1000)
	fmt.Fprintf(w, "REST into one API process: %.0f enqueues/s single (%d clients), %.0f jobs/s in batches of %d (%d clients)\n", rest.single, restClients, rest.batch, restBatch, restBatchClients)
}

// runIkq enqueues every file as a URL job, then runs one worker until all complete.
// Its costs per job cover both.
func runIkq(b *testing.B, files [][]byte, latency time.Duration) pipelinePoint {
	b.Helper()
	src := ikqtest.FilesServer(b, files)
	emu := startEmulator(b, emulator.Config{Faults: emulator.FaultConfig{Latency: latency}})
	rdb := redistest.New(b).Client(b)
	counter := newRedisCost()
	rdb.AddHook(counter)
	cpu0, cmds0, mem0 := serverCPU(b, rdb), serverCommands(b, rdb), serverMemory(b, rdb)
	var ms0 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	proc0 := processCPU()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	reg := newAttempts()
	w, err := worker.New(worker.Config{
		Redis:      rdb,
		Registerer: reg,
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

	enqueued := time.Now()
	for _, r := range p.EnqueueBatch(ctx, jobs) {
		if r.Err != nil {
			b.Fatal(r.Err)
		}
	}
	enqueueRate := float64(len(jobs)) / time.Since(enqueued).Seconds()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- w.Run(runCtx) }()
	if err := reg.wait(ctx, float64(len(files))); err != nil {
		b.Fatal(err)
	}
	if err := waitCompleted(ctx, rdb, int64(len(files))); err != nil {
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	var ms1 runtime.MemStats
	runtime.ReadMemStats(&ms1)
	proc1 := processCPU()
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	n := len(files)
	pt := pipelinePoint{latency: latency, ikq: float64(n) / elapsed.Seconds(), enqueue: enqueueRate,
		allocsPerJob:     float64(ms1.Mallocs-ms0.Mallocs) / float64(n),
		allocBytesPerJob: float64(ms1.TotalAlloc-ms0.TotalAlloc) / float64(n),
		cpuPerJob:        (proc1 - proc0).Seconds() * 1000 / float64(n),
		bytesPerJob:      (serverMemory(b, rdb) - mem0) / float64(n)}
	var c jobCost
	c.ikqRT, c.ikqCmds = counter.perJob("ikq", n)
	c.asynqRT, c.asynqCmds = counter.perJob("asynq", n)
	_, c.otherCmds = counter.perJob("other", n)
	c.serverCPUms = (serverCPU(b, rdb) - cpu0) * 1000 / float64(n)
	c.serverCmds = (serverCommands(b, rdb) - cmds0) / float64(n)
	pt.cost = c
	return pt
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
