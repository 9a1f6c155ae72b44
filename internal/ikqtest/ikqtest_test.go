package ikqtest_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
)

func TestMain(m *testing.M) { ikqtest.Main(m) }

func TestImagesDecodeAndDifferBySeed(t *testing.T) {
	t.Parallel()
	seen := map[string]int{}
	for _, seed := range []int{0, 1, 2, 255, 256, 257, 511, 512, 1000, 65535} {
		b := ikqtest.PNG(t, seed, 5, 3)
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("seed %d: not a PNG: %v", seed, err)
		}
		if got := img.Bounds(); got != image.Rect(0, 0, 5, 3) {
			t.Errorf("seed %d: bounds %v, want 5×3", seed, got)
		}
		if other, ok := seen[string(b)]; ok {
			t.Errorf("seeds %d and %d give the same PNG", other, seed)
		}
		seen[string(b)] = seed
	}
	img, err := jpeg.Decode(bytes.NewReader(ikqtest.JPEG(t, 7, 8, 6)))
	if err != nil || img.Bounds() != image.Rect(0, 0, 8, 6) {
		t.Fatalf("JPEG: %v, %v; want an 8×6 JPEG", img, err)
	}
}

func TestLockedBufferTakesConcurrentWrites(t *testing.T) {
	t.Parallel()
	var b ikqtest.LockedBuffer
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 100 {
				fmt.Fprintf(&b, "writer %d line %d\n", i, j)
			}
		})
	}
	wg.Wait()
	if n := strings.Count(b.String(), "\n"); n != 800 {
		t.Fatalf("%d lines, want 800", n)
	}
	if n := len(b.Lines("writer 3 ")); n != 100 {
		t.Errorf("Lines(writer 3) = %d lines, want 100", n)
	}
	if tail := b.Tail(10); !strings.HasPrefix(tail, "…") || len(tail) != len("…")+10 {
		t.Errorf("Tail(10) = %q, want … and the last 10 bytes", tail)
	}
}

// fakeT records a failure the way testing.T does (Fatalf ends the goroutine).
type fakeT struct {
	testing.TB
	failed string
}

func (*fakeT) Helper() {}
func (f *fakeT) Fatalf(format string, args ...any) {
	f.failed = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestEventually(t *testing.T) {
	t.Parallel()
	n := 0
	ikqtest.EventuallyWithin(t, time.Minute, time.Millisecond, func() string { return "never" }, func() bool {
		n++
		return n == 3
	})
	if n != 3 {
		t.Fatalf("cond called %d times, want until it held (3)", n)
	}

	f := &fakeT{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		ikqtest.EventuallyWithin(f, 20*time.Millisecond, time.Millisecond, func() string { return "the answer" }, func() bool { return false })
	}()
	<-done
	if !strings.Contains(f.failed, "the answer") {
		t.Fatalf("a condition that never holds failed with %q, want what() in the message", f.failed)
	}
}
