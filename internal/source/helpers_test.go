package source_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/source"
)

// TestMain checks that no goroutine outlives the tests: a server, a fetch or a
// reader a test forgot to stop.
func TestMain(m *testing.M) { ikqtest.Main(m) }

// sleeps records the waits an Opener asks for and returns at once.
type sleeps struct {
	mu sync.Mutex
	d  []time.Duration
}

func (s *sleeps) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.d = append(s.d, d)
	s.mu.Unlock()
	return ctx.Err()
}

func (s *sleeps) waits() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.d...)
}

// newOpener returns an Opener whose backoff waits are recorded, not slept.
func newOpener(cfg source.Config) (*source.Opener, *sleeps) {
	s := &sleeps{}
	if cfg.Sleep == nil {
		cfg.Sleep = s.sleep
	}
	return source.New(cfg), s
}

// sourceError returns err as a *source.Error, failing the test if it is not one.
func sourceError(t *testing.T, err error) *source.Error {
	t.Helper()
	var e *source.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *source.Error", err, err)
	}
	return e
}

// readAll reads and closes src's Body.
func readAll(t *testing.T, src *source.Source) []byte {
	t.Helper()
	defer func() { _ = src.Body.Close() }()
	b, err := io.ReadAll(src.Body)
	if err != nil {
		t.Fatalf("reading the body: %v", err)
	}
	return b
}

// pngBytes is a small real PNG.
var pngBytes = func() []byte {
	img := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range 4 {
		img.Set(i, i, color.RGBA{R: 255, A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

// pseudoRandom returns n reproducible bytes that look like nothing in particular.
func pseudoRandom(n int) []byte {
	b := make([]byte, n)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
