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
	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
	"github.com/ikq-dev/ikq/internal/objstore/s3test"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// BenchmarkWorkerPeakRSS runs `ikq worker` as its own process and reports its peak
// RSS while it streams large videos into the emulator: one 300 MB file from a URL,
// the same from S3 (a versitygw server), and 8 files of 100 MB at once from URLs.
func BenchmarkWorkerPeakRSS(b *testing.B) {
	bin := buildIkq(b)
	emu := startEmulator(b, emulator.Config{DataDir: b.TempDir(), MaxVideoSize: 400 << 20})
	src := videoServer(b)

	b.Run("url-1x300MB", func(b *testing.B) {
		jobs := []tasks.Upload{{File: src.URL + "/300.mp4", FileName: "big.mp4"}}
		runPeakRSS(b, bin, emu.URL, nil, jobs, 300<<20, "one 300 MB file from a URL")
	})
	b.Run("s3-1x300MB", func(b *testing.B) {
		s3 := s3test.Start(b)
		s3.CreateBucket(b, "videos")
		writeVideo(b, filepath.Join(s3.Dir, "videos", "big.mp4"), 300<<20)
		env := []string{"IKQ_S3_ENDPOINT=" + s3.Endpoint, "AWS_ACCESS_KEY_ID=" + s3.AccessKey,
			"AWS_SECRET_ACCESS_KEY=" + s3.SecretKey, "AWS_REGION=" + s3.Region}
		jobs := []tasks.Upload{{File: "s3://videos/big.mp4", FileName: "big.mp4"}}
		runPeakRSS(b, bin, emu.URL, env, jobs, 300<<20, "one 300 MB file from S3")
	})
	b.Run("url-8x100MB", func(b *testing.B) {
		var jobs []tasks.Upload
		for i := range 8 {
			jobs = append(jobs, tasks.Upload{File: fmt.Sprintf("%s/100.mp4?n=%d", src.URL, i), FileName: fmt.Sprintf("v%d.mp4", i)})
		}
		runPeakRSS(b, bin, emu.URL, nil, jobs, 100<<20, "8 files of 100 MB at once from URLs")
	})
}

// runPeakRSS starts a worker process, enqueues jobs, waits for all to complete with
// results of size bytes, and reports the worker's peak RSS.
func runPeakRSS(b *testing.B, bin, emuURL string, env []string, jobs []tasks.Upload, size int64, what string) {
	r := redistest.New(b)
	rdb := r.Client(b)
	var peak int64
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "worker", "--concurrency", "8")
		cmd.Env = append(os.Environ(),
			"REDIS_URL="+r.URL(),
			"IMAGEKIT_PRIVATE_KEY="+privateKey,
			"IMAGEKIT_UPLOAD_URL="+emuURL+"/api/v1/files/upload",
			"IKQ_MAX_FILE_SIZE=300MB",
			"IKQ_LOG_LEVEL=warn",
			"IKQ_FETCH_ALLOW=127.0.0.0/8", // the source servers are on loopback
			"IKQ_METRICS_LISTEN=",
		)
		cmd.Env = append(cmd.Env, env...)
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		p, err := producer.New(producer.Config{Redis: rdb})
		if err != nil {
			b.Fatal(err)
		}
		var ids []string
		for _, res := range p.EnqueueBatch(ctx, jobs) {
			if res.Err != nil {
				b.Fatal(res.Err)
			}
			ids = append(ids, res.Job.ID)
		}
		for done := 0; done < len(ids); {
			if rss := peakRSS(b, cmd.Process.Pid); rss > peak {
				peak = rss
			}
			done = 0
			for _, id := range ids {
				j, err := p.Get(ctx, id)
				if err != nil {
					b.Fatal(err)
				}
				if !j.Status.Final() {
					continue
				}
				if !strings.Contains(string(j.Result), fmt.Sprintf(`"size":%d`, size)) {
					b.Fatalf("job ended %s: %s %+v", j.Status, j.Result, j.Error)
				}
				done++
			}
			time.Sleep(50 * time.Millisecond)
		}
		if rss := peakRSS(b, cmd.Process.Pid); rss > peak {
			peak = rss
		}
		_ = p.Close()
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		cancel()
	}
	b.SetBytes(size * int64(len(jobs)))
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	fmt.Fprintf(os.Stdout, "worker peak RSS streaming %s: %.1f MiB\n", what, float64(peak)/(1<<20))
}

// videoServer serves generated videos: /300.mp4 of 300 MiB and /100.mp4 of 100 MiB,
// an MP4 header followed by zeros, with a Content-Length.
func videoServer(b *testing.B) *httptest.Server {
	head := probetest.SampleMP4(1920, 1080, 120, 0)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		size, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), ".mp4"), 10, 64)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		size <<= 20
		w.Header().Set("Content-Type", "video/mp4")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Write(head)
		_, _ = io.CopyN(w, zeros{}, size-int64(len(head)))
	}))
	b.Cleanup(ts.Close)
	return ts
}

// writeVideo writes a generated video of size bytes to path (versitygw's POSIX
// backend serves a bucket's files as its objects).
func writeVideo(b *testing.B, path string, size int64) {
	head := probetest.SampleMP4(1920, 1080, 120, 0)
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = f.Close() }()
	if _, err := f.Write(head); err != nil {
		b.Fatal(err)
	}
	if _, err := io.CopyN(f, zeros{}, size-int64(len(head))); err != nil {
		b.Fatal(err)
	}
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
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
