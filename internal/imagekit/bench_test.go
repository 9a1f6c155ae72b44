package imagekit

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/emulator/probe/probetest"
)

// BenchmarkUploadStreaming uploads 64 MiB generated on the fly and reports the
// bytes allocated per upload (MiB-alloc/op, runtime.MemStats.TotalAlloc growth):
// with streaming it is a small constant, not the file's size. "emulator" includes
// the emulator's own allocations (it runs in this process); "discard" uploads to a
// server that only reads the multipart body, so it is mostly the client's.
func BenchmarkUploadStreaming(b *testing.B) {
	const size = 64 << 20
	b.Run("emulator", func(b *testing.B) {
		env := newEnv(b, func(c *emulator.Config) {
			c.MaxVideoSize = 128 << 20
			c.DataDir = b.TempDir()
		})
		benchUpload(b, env.client, size)
	})
	b.Run("discard", func(b *testing.B) {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mr, err := r.MultipartReader()
			if err != nil {
				http.Error(w, `{"message":"not multipart"}`, http.StatusBadRequest)
				return
			}
			var n int64
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				c, _ := io.Copy(io.Discard, p)
				if p.FormName() == "file" {
					n = c
				}
			}
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(map[string]any{"fileId": "x", "size": n})
		}))
		b.Cleanup(ts.Close)
		benchUpload(b, clientFor(ts.URL, testKey), size)
	})
}

func benchUpload(b *testing.B, c *Client, size int64) {
	header := probetest.SampleMP4(16, 16, 1, 0)
	b.SetBytes(size)
	b.ReportAllocs()
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	n := 0
	for b.Loop() {
		res, err := c.Upload(b.Context(), UploadRequest{
			File: generated(header, size), ContentType: "video/mp4", Params: Params{FileName: "bench.mp4"},
		})
		if err != nil {
			b.Fatal(err)
		}
		if res.Size != size {
			b.Fatalf("size %d, want %d", res.Size, size)
		}
		n++
	}
	runtime.ReadMemStats(&after)
	b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/float64(n)/(1<<20), "MiB-alloc/op")
}
