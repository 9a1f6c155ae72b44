package httpserve

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
)

// BenchmarkUpload posts 64 MiB bodies over loopback to a server whose bodies are
// paced and to a plain http.Server: what the deadlines cost a large upload.
func BenchmarkUpload(b *testing.B) {
	const size = 64 << 20
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
	})
	for _, c := range []struct {
		name  string
		serve func(ctx context.Context, ln net.Listener) error
	}{
		{"paced", func(ctx context.Context, ln net.Listener) error {
			return Serve(ctx, ln, h, Limits{}, slog.New(slog.DiscardHandler))
		}},
		{"plain", func(ctx context.Context, ln net.Listener) error {
			hs := &http.Server{Handler: h, ReadHeaderTimeout: DefaultReadHeaderTimeout}
			go func() { <-ctx.Done(); _ = hs.Close() }()
			if err := hs.Serve(ln); err != http.ErrServerClosed {
				return err
			}
			return nil
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				b.Fatal(err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- c.serve(ctx, ln) }()
			defer func() {
				cancel()
				if err := <-done; err != nil {
					b.Error(err)
				}
			}()
			client := &http.Client{Transport: &http.Transport{}}
			defer client.CloseIdleConnections()
			b.SetBytes(size)
			for b.Loop() {
				req, err := http.NewRequest(http.MethodPost, "http://"+ln.Addr().String()+"/", io.LimitReader(zeros{}, size))
				if err != nil {
					b.Fatal(err)
				}
				req.ContentLength = size
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_ = resp.Body.Close()
			}
		})
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
