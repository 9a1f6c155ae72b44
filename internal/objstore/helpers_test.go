package objstore_test

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/objstore/s3test"
	"github.com/ikq-dev/ikq/internal/source"
)

// newOpener returns an Opener with cfg's object stores registered, closed at
// cleanup.
func newOpener(t *testing.T, cfg objstore.Config) (*source.Opener, *objstore.Stores) {
	t.Helper()
	o := source.New(source.Config{})
	stores, err := objstore.Register(o, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := stores.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return o, stores
}

// s3Config is a Config for srv with its root credentials; one try per
// request, so tests of outages do not wait for the SDK's backoff.
func s3Config(srv *s3test.Server) objstore.Config {
	return objstore.Config{
		S3Endpoint:        srv.Endpoint,
		S3Region:          srv.Region,
		S3AccessKeyID:     srv.AccessKey,
		S3SecretAccessKey: srv.SecretKey,
		S3MaxAttempts:     1,
	}
}

// sourceError returns err as a *source.Error, failing the test if it is not.
func sourceError(t *testing.T, err error) *source.Error {
	t.Helper()
	var e *source.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *source.Error", err, err)
	}
	return e
}

// wantError checks that err is a *source.Error of kind, retryable or not, whose
// message holds each of msgs.
func wantError(t *testing.T, err error, kind source.Kind, retryable bool, msgs ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %v", kind)
	}
	t.Logf("error: %v", err)
	e := sourceError(t, err)
	if e.Kind != kind || e.Retryable != retryable {
		t.Errorf("error %q: kind %v, retryable %v; want %v, %v", err, e.Kind, e.Retryable, kind, retryable)
	}
	for _, m := range msgs {
		if !strings.Contains(err.Error(), m) {
			t.Errorf("error %q does not say %q", err, m)
		}
	}
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

// pngBytes is a real PNG of about n bytes: a header that sniffs as image/png,
// then noise that does not compress.
func pngBytes(n int) []byte {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	img.Set(1, 1, color.NRGBA{R: 255, A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err)
	}
	for b.Len() < n {
		b.Write(pseudoRandom(min(n-b.Len(), 64<<10), uint32(b.Len()+1)))
	}
	return b.Bytes()
}

// pseudoRandom returns n reproducible bytes that look like nothing in particular.
func pseudoRandom(n int, seed uint32) []byte {
	b := make([]byte, n)
	x := seed | 1
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	return b
}
