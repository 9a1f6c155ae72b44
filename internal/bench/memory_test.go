package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/emulator/probe"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

const bigFile = 300 << 20

// BenchmarkWorkerPeakRSS runs `ikq worker` as its own process, has it stream one
// 300 MB video from a URL into the emulator, and reports the process's peak RSS.
func BenchmarkWorkerPeakRSS(b *testing.B) {
	bin := buildIkq(b)
	head := probe.SampleMP4(1920, 1080, 120, 0)
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.Itoa(bigFile))
		w.Write(head)
		io.CopyN(w, zeros{}, bigFile-int64(len(head)))
	}))
	b.Cleanup(src.Close)
	emu := startEmulator(b, emulator.Config{DataDir: b.TempDir(), MaxVideoSize: 400 << 20})
	r := redistest.New(b)
	rdb := r.Client(b)

	var peak int64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "worker", "--concurrency", "4")
		cmd.Env = append(os.Environ(),
			"REDIS_URL="+r.URL(),
			"IMAGEKIT_PRIVATE_KEY="+privateKey,
			"IMAGEKIT_UPLOAD_URL="+emu.URL+"/api/v1/files/upload",
			"IKQ_MAX_FILE_SIZE=300MB",
			"IKQ_LOG_LEVEL=warn",
			"IKQ_FETCH_ALLOW=127.0.0.0/8", // the source server is on loopback
			"IKQ_METRICS_LISTEN=",
		)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		p, err := producer.New(producer.Config{Redis: rdb})
		if err != nil {
			b.Fatal(err)
		}
		job, err := p.Enqueue(ctx, tasks.Upload{File: src.URL + "/big.mp4", FileName: "big.mp4"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if rss := peakRSS(b, cmd.Process.Pid); rss > peak {
				peak = rss
			}
			j, err := p.Get(ctx, job.ID)
			if err != nil {
				b.Fatal(err)
			}
			if j.Status.Final() {
				if j.Result == nil || !strings.Contains(string(j.Result), fmt.Sprintf(`"size":%d`, bigFile)) {
					b.Fatalf("job ended %s: %s", j.Status, j.Result)
				}
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		if rss := peakRSS(b, cmd.Process.Pid); rss > peak {
			peak = rss
		}
		p.Close()
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		cancel()
	}
	b.SetBytes(bigFile)
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	fmt.Fprintf(os.Stdout, "worker peak RSS streaming one 300 MB file: %.1f MiB\n", float64(peak)/(1<<20))
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// buildIkq builds the ikq command for the benchmark.
func buildIkq(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "ikq")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/ikq-dev/ikq/cmd/ikq").CombinedOutput()
	if err != nil {
		b.Fatalf("building ikq: %v\n%s", err, out)
	}
	return bin
}

// peakRSS reads a process's peak resident set size (VmHWM) in bytes.
func peakRSS(b *testing.B, pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Skipf("cannot read process memory here: %v", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
