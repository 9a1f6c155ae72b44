package emulator

import (
	"io"
	"mime/multipart"
	"net/http"
	"runtime"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

// BenchmarkUploadSmall measures small uploads through the whole HTTP path.
func BenchmarkUploadSmall(b *testing.B) {
	e := newTestEmulator(b, nil)
	img := pngImage(b, 16, 16, false)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r := e.upload(b, filePart("a.png", img), field("fileName", "a.png"))
		if r.Status != http.StatusOK {
			b.Fatalf("status %d: %s", r.Status, r.Raw)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "uploads/s")
}

// zeroReader is an endless stream of zeros.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// BenchmarkUploadLargeStreamed uploads a 64 MiB video to a disk-backed emulator,
// the client streaming it through a pipe, and reports the heap the server grew by:
// the upload is streamed to storage, not held in memory.
func BenchmarkUploadLargeStreamed(b *testing.B) {
	const size = 64 << 20
	e := newTestEmulator(b, func(c *Config) { c.DataDir = b.TempDir() })
	head := probetest.SampleMP4(1280, 720, 60, 0)
	b.SetBytes(size)
	var peak uint64
	for b.Loop() {
		pr, pw := io.Pipe()
		mw := multipart.NewWriter(pw)
		go func() {
			_ = mw.WriteField("fileName", "big.mp4")
			w, _ := mw.CreateFormFile("file", "big.mp4")
			_, _ = w.Write(head) // into memory: it cannot fail
			_, _ = io.CopyN(w, zeroReader{}, size-int64(len(head)))
			pw.CloseWithError(mw.Close())
		}()
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		req, _ := http.NewRequest(http.MethodPost, e.URL+"/api/v1/files/upload", pr)
		req.Header.Set("Content-Type", mw.FormDataContentType())
		req.SetBasicAuth(testKey, "")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("status %d", resp.StatusCode)
		}
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > peak {
			peak = grew
		}
	}
	b.ReportMetric(float64(peak)/(1<<20), "MiB-allocated/upload")
}
