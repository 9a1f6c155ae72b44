package bench

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
	allocs, allocBytes   float64 // per job, from the worker's /metrics
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
	metricsAddr := freeAddr(b)
	cmd := exec.CommandContext(ctx, bin, "worker", "--concurrency", fmt.Sprint(workerConcurrency))
	cmd.Env = append(os.Environ(),
		"REDIS_URL="+r.URL(),
		"IMAGEKIT_PRIVATE_KEY="+privateKey,
		"IMAGEKIT_UPLOAD_URL="+emu.URL+"/api/v1/files/upload",
		"IKQ_LOG_LEVEL=warn",
		"IKQ_FETCH_ALLOW=127.0.0.0/8", // the file server is on loopback
		"IKQ_METRICS_LISTEN="+metricsAddr,
	)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	var before goMem
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		var err error
		if before, err = scrapeGoMem("http://" + metricsAddr + "/metrics"); err == nil {
			break
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			b.Fatalf("the worker's metrics: %v", err)
		}
	}
	var cpu0 time.Duration
	if ru, err := procCPU(cmd.Process.Pid); err == nil {
		cpu0 = ru
	}

	jobs := make([]tasks.Upload, len(files))
	for i := range files {
		jobs[i] = tasks.Upload{File: fmt.Sprintf("%s/f/%d.png", src.URL, i), FileName: fmt.Sprintf("f%d.png", i)}
	}
	start := time.Now()
	for _, res := range p.EnqueueBatch(ctx, jobs) {
		if res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	if err := waitCompleted(ctx, rdb, int64(len(files))); err != nil {
		_ = cmd.Process.Kill()
		b.Fatal(err)
	}
	elapsed := time.Since(start)
	n := float64(len(files))
	out := workerProcess{rate: n / elapsed.Seconds(), peakRSS: peakRSS(b, cmd.Process.Pid)}
	after, err := scrapeGoMem("http://" + metricsAddr + "/metrics")
	if err != nil {
		b.Fatal(err)
	}
	out.allocs, out.allocBytes = (after.mallocs-before.mallocs)/n, (after.allocBytes-before.allocBytes)/n
	cpu1, err := procCPU(cmd.Process.Pid)
	if err != nil {
		b.Fatal(err)
	}
	out.cpuMs = float64((cpu1 - cpu0).Nanoseconds()) / 1e6 / n
	_ = cmd.Process.Signal(os.Interrupt)
	_ = cmd.Wait()
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
		// The split of the whole life (start and stop included) between user and system.
		u, s := float64(ru.Utime.Nano()), float64(ru.Stime.Nano())
		if u+s > 0 {
			out.userMs, out.sysMs = out.cpuMs*u/(u+s), out.cpuMs*s/(u+s)
		}
	}
	return out
}

// goMem is what a Go process's /metrics says of its allocation.
type goMem struct{ mallocs, allocBytes float64 }

// scrapeGoMem reads go_memstats_mallocs_total and go_memstats_alloc_bytes_total.
func scrapeGoMem(url string) (goMem, error) {
	resp, err := http.Get(url) //nolint:gosec,noctx // a loopback address the benchmark chose
	if err != nil {
		return goMem{}, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return goMem{}, err
	}
	var m goMem
	found := 0
	for _, line := range strings.Split(string(body), "\n") {
		name, v, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch name {
		case "go_memstats_mallocs_total":
			m.mallocs, found = f, found+1
		case "go_memstats_alloc_bytes_total":
			m.allocBytes, found = f, found+1
		}
	}
	if found != 2 {
		return goMem{}, fmt.Errorf("%s: no go_memstats", url)
	}
	return m, nil
}

// procCPU is the CPU time a running process has used (/proc/<pid>/stat, utime and
// stime in clock ticks of 1/100 s).
func procCPU(pid int) (time.Duration, error) {
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	// The fields after the command name, which is in parentheses and may hold spaces.
	_, rest, ok := strings.Cut(string(raw), ") ")
	if !ok {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	f := strings.Fields(rest)
	if len(f) < 13 {
		return 0, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(b *testing.B) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().String()
}
