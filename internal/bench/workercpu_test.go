package bench

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// workerProcess is what an `ikq worker` process used for the pipeline's files.
type workerProcess struct {
	rate                 float64 // jobs/s
	cpuMs, userMs, sysMs float64 // per job
	peakRSS              int64
}

// runWorkerProcess runs the pipeline's files through `ikq worker` as a process of its
// own, with the emulator answering at once, and reads its CPU time from the kernel:
// the worker's alone, without the emulator's and the file server's.
func runWorkerProcess(b *testing.B, files [][]byte) workerProcess {
	b.Helper()
	bin := buildIkq(b)
	src := ikqtest.FilesServer(b, files)
	emu := startEmulator(b, emulator.Config{})
	r := redistest.New(b)
	rdb := r.Client(b)
	p, err := producer.New(producer.Config{Redis: rdb})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = p.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	jobs := make([]tasks.Upload, len(files))
	for i := range files {
		jobs[i] = tasks.Upload{File: fmt.Sprintf("%s/f/%d.png", src.URL, i), FileName: fmt.Sprintf("f%d.png", i)}
	}
	for _, res := range p.EnqueueBatch(ctx, jobs) {
		if res.Err != nil {
			b.Fatal(res.Err)
		}
	}

	cmd := exec.CommandContext(ctx, bin, "worker", "--concurrency", fmt.Sprint(workerConcurrency))
	cmd.Env = append(os.Environ(),
		"REDIS_URL="+r.URL(),
		"IMAGEKIT_PRIVATE_KEY="+privateKey,
		"IMAGEKIT_UPLOAD_URL="+emu.URL+"/api/v1/files/upload",
		"IKQ_LOG_LEVEL=warn",
		"IKQ_FETCH_ALLOW=127.0.0.0/8", // the file server is on loopback
		"IKQ_METRICS_LISTEN=",
	)
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	if err := waitCompleted(ctx, rdb, int64(len(files))); err != nil {
		_ = cmd.Process.Kill()
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	out := workerProcess{rate: float64(len(files)) / elapsed.Seconds(), peakRSS: peakRSS(b, cmd.Process.Pid)}
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		n := float64(len(files))
		out.userMs = float64(ru.Utime.Nano()) / 1e6 / n
		out.sysMs = float64(ru.Stime.Nano()) / 1e6 / n
		out.cpuMs = out.userMs + out.sysMs
	}
	return out
}
