package ikqtest

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// PNG returns a w×h PNG whose pixels depend on seed, so that each seed (below 65536)
// gives different bytes and every test uploads a file of its own.
func PNG(t testing.TB, seed, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, seeded(seed, w, h)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// JPEG is PNG's image encoded as a JPEG at quality 90.
func JPEG(t testing.TB, seed, w, h int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, seeded(seed, w, h), &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func seeded(seed, w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			// The low byte of the seed is in every pixel's blue, the next in its alpha:
			// two seeds below 65536 never give the same image.
			img.Set(x, y, color.NRGBA{uint8(x*seed + y), uint8(y*seed + 7), uint8(seed), 255 - uint8(seed>>8)}) //nolint:gosec // G115: pixel values wrap by design
		}
	}
	return img
}
