package bench

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// BenchmarkBulkPeakRSS runs `ikq bulk --dry-run` as its own process and reports its
// peak RSS: on a manifest of 1,000,000 lines, and on a folder of 100,000 files. The
// run streams its source, so memory should not grow with the number of items.
func BenchmarkBulkPeakRSS(b *testing.B) {
	bin := buildIkq(b)
	b.Run("manifest-1M-lines", func(b *testing.B) {
		manifest := filepath.Join(b.TempDir(), "jobs.jsonl")
		f, err := os.Create(manifest)
		if err != nil {
			b.Fatal(err)
		}
		w := bufio.NewWriter(f)
		for i := range 1_000_000 {
			fmt.Fprintf(w, `{"file":"https://cdn.example.com/photos/%07d.jpg","fileName":"%07d.jpg","folder":"/import/%03d","tags":["bulk","bench"]}`+"\n", i, i, i%1000)
		}
		if err := w.Flush(); err != nil {
			b.Fatal(err)
		}
		f.Close()
		bulkPeakRSS(b, bin, "1000000 would be enqueued", "--dry-run on a 1,000,000-line manifest", "--dry-run", manifest)
	})
	b.Run("tree-100k-files", func(b *testing.B) {
		dir := b.TempDir()
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
		for i := range 100_000 {
			d := filepath.Join(dir, fmt.Sprintf("d%03d", i%500))
			if i < 500 {
				if err := os.MkdirAll(d, 0o755); err != nil {
					b.Fatal(err)
				}
			}
			if err := os.WriteFile(filepath.Join(d, fmt.Sprintf("f%06d.png", i)), png, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.Run("dry-run", func(b *testing.B) {
			bulkPeakRSS(b, bin, "100000 would be enqueued", "--dry-run on a folder of 100,000 files", "--dry-run", dir)
		})
		// The same folder enqueued into Redis: 100,000 jobs recorded.
		b.Run("enqueue", func(b *testing.B) {
			r := redistest.New(b)
			bulkPeakRSS(b, bin, "100000 jobs: 100000 enqueued", "enqueuing a folder of 100,000 files", "--mode", "enqueue", "--redis-url", r.URL(), "--concurrency", "16", dir)
		})
	})
}

// bulkPeakRSS runs ikq bulk with args and reports its peak RSS, from the kernel's
// accounting of the finished process.
func bulkPeakRSS(b *testing.B, bin, want, what string, args ...string) {
	var peak int64
	for b.Loop() {
		cmd := exec.Command(bin, append([]string{"bulk"}, args...)...)
		cmd.Env = append(os.Environ(), "IMAGEKIT_PRIVATE_KEY=", "REDIS_URL=redis://127.0.0.1:1/0")
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Run(); err != nil {
			b.Fatalf("ikq bulk: %v\n%s", err, stderr.String())
		}
		if !strings.Contains(stderr.String(), want) {
			b.Fatalf("ikq bulk did not say %q:\n%s", want, stderr.String())
		}
		ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		if !ok {
			b.Skip("no rusage on this platform")
		}
		peak = max(peak, ru.Maxrss<<10) // KiB on Linux
	}
	b.ReportMetric(float64(peak)/(1<<20), "peak-RSS-MiB")
	fmt.Fprintf(os.Stdout, "ikq bulk peak RSS, %s: %.1f MiB\n", what, float64(peak)/(1<<20))
}
