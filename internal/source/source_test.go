package source_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ikq-dev/ikq/internal/source"
)

// memStore is an OpenFunc over a map, as an object store driver would be.
func memStore(objects map[string][]byte) source.OpenFunc {
	return func(ctx context.Context, u *url.URL) (*source.Source, error) {
		b, ok := objects[u.Host+u.Path]
		if !ok {
			return nil, fmt.Errorf("mem: %s: %w", u.Path, fs.ErrNotExist)
		}
		return &source.Source{
			Body: io.NopCloser(bytes.NewReader(b)),
			Name: u.Path[strings.LastIndexByte(u.Path, '/')+1:],
			Size: -1, // unknown, so the cap must catch it while streaming
		}, nil
	}
}

func TestRegister(t *testing.T) {
	t.Parallel()
	big := pseudoRandom(5000)
	o, _ := newOpener(source.Config{MaxSize: 1000})
	o.Register("MEM", memStore(map[string][]byte{"bucket/a/photo.png": pngBytes, "bucket/big.bin": big}))

	src, err := o.Open(t.Context(), "mem://bucket/a/photo.png")
	if err != nil {
		t.Fatal(err)
	}
	if src.Name != "photo.png" || src.Size != -1 || src.ContentType != "image/png" || src.Attempts != 1 {
		t.Errorf("got Name %q Size %d ContentType %q Attempts %d", src.Name, src.Size, src.ContentType, src.Attempts)
	}
	if got := readAll(t, src); !bytes.Equal(got, pngBytes) {
		t.Error("body differs")
	}

	src, err = o.Open(t.Context(), "mem://bucket/big.bin")
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(src.Body)
	_ = src.Body.Close()
	if !errors.Is(err, source.ErrTooLarge) || len(got) != 1000 {
		t.Errorf("read %d bytes, %v; want the cap to apply to registered schemes", len(got), err)
	}

	_, err = o.Open(t.Context(), "mem://bucket/missing.png")
	if e := sourceError(t, err); e.Kind != source.KindNotFound || e.Retryable || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing object: %v", err)
	}

	_, err = o.Open(t.Context(), "gs://bucket/a.png")
	if e := sourceError(t, err); e.Kind != source.KindInvalid || !strings.Contains(err.Error(), `unsupported source scheme "gs"`) {
		t.Errorf("unregistered scheme: %v", err)
	}
}

func TestRegisterErrors(t *testing.T) {
	t.Parallel()
	o, _ := newOpener(source.Config{})
	o.Register("leaky", func(ctx context.Context, u *url.URL) (*source.Source, error) {
		return nil, &source.Error{Kind: source.KindForbidden, Ref: u.String()}
	})
	o.Register("flaky", func(ctx context.Context, u *url.URL) (*source.Source, error) {
		return nil, errors.New("connection reset")
	})
	o.Register("empty", func(ctx context.Context, u *url.URL) (*source.Source, error) {
		return &source.Source{}, nil
	})

	_, err := o.Open(t.Context(), "leaky://user:secret@bucket/a?sig=1")
	if e := sourceError(t, err); e.Kind != source.KindForbidden || e.Ref != "leaky://bucket/a?sig=REDACTED" || e.Attempts != 1 {
		t.Errorf("got Kind %v Ref %q Attempts %d", e.Kind, e.Ref, e.Attempts)
	}
	_, err = o.Open(t.Context(), "flaky://bucket/a")
	if e := sourceError(t, err); e.Kind != source.KindUnavailable || !e.Retryable {
		t.Errorf("plain error: %v", err)
	}
	_, err = o.Open(t.Context(), "empty://bucket/a")
	if e := sourceError(t, err); e.Kind != source.KindUnavailable {
		t.Errorf("no body: %v", err)
	}
}

func TestRegisterReplacesBuiltin(t *testing.T) {
	t.Parallel()
	o, _ := newOpener(source.Config{}) // no FileRoot: the built-in file:// refuses
	o.Register("file", memStore(map[string][]byte{"/x.png": pngBytes}))
	src, err := o.Open(t.Context(), "file:///x.png")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
}

func TestRegisterPanics(t *testing.T) {
	t.Parallel()
	o, _ := newOpener(source.Config{})
	for _, tc := range []struct {
		scheme string
		f      source.OpenFunc
	}{{"", memStore(nil)}, {"no way", memStore(nil)}, {"mem", nil}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("Register(%q, %v) did not panic", tc.scheme, tc.f != nil)
				}
			}()
			o.Register(tc.scheme, tc.f)
		}()
	}
}

func TestRegisterWhileOpening(t *testing.T) {
	t.Parallel()
	o, _ := newOpener(source.Config{})
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			o.Register(fmt.Sprintf("s%d", i), memStore(map[string][]byte{"b/k": []byte("x")}))
		})
		wg.Go(func() {
			if src, err := o.Open(t.Context(), "QUJD"); err == nil {
				_ = src.Body.Close()
			}
		})
	}
	wg.Wait()
	src, err := o.Open(t.Context(), "s7://b/k")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
}

func TestRedact(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"https://example.com/a.png", "https://example.com/a.png"},
		{"https://user:secret@example.com/a.png", "https://example.com/a.png"},
		{"https://user@example.com/a.png", "https://example.com/a.png"},
		{"https://example.com/a.png?X-Amz-Signature=abc&X-Amz-Credential=k&w=1", "https://example.com/a.png?X-Amz-Signature=REDACTED&X-Amz-Credential=REDACTED&w=1"},
		{"https://u:p@example.com:8443/a%20b.png?sig=1#frag", "https://example.com:8443/a%20b.png?sig=REDACTED#frag"},
		{"https://example.com/a.png#token=x", "https://example.com/a.png#token=REDACTED"},
		{"https://example.com/a.png?", "https://example.com/a.png?"},
		{"https://example.com/@user/a.png", "https://example.com/@user/a.png"},
		{"https://a@b@example.com/x", "https://example.com/x"},
		{"s3://bucket/key.png?region=eu", "s3://bucket/key.png?region=eu"},
		{"file:///srv/a.png", "file:///srv/a.png"},
		{"user:secret@example.com/a.png", "example.com/a.png"},
		{"http://user:pa/ss@example.com/a.png", "http://example.com/a.png"}, // unparseable
		{"data:image/png;base64,iVBORw0KGgo=", "inline content (34 bytes)"},
		{"iVBORw0KGgo=", "inline content (12 bytes)"},
		{"", "inline content (0 bytes)"},
	}
	for _, tt := range tests {
		if got := source.Redact(tt.in); got != tt.want {
			t.Errorf("Redact(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestErrorMessage(t *testing.T) {
	t.Parallel()
	e := &source.Error{Kind: source.KindNotFound, Ref: "https://example.com/a.png?REDACTED", Status: 404}
	if got, want := e.Error(), `source "https://example.com/a.png?REDACTED": not found (HTTP 404)`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	cause := errors.New("connection reset")
	e = &source.Error{Kind: source.KindUnavailable, Ref: "inline content (4 bytes)", Err: cause}
	if got, want := e.Error(), `source "inline content (4 bytes)": unavailable: connection reset`; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if !errors.Is(e, cause) || errors.Is(e, source.ErrTooLarge) {
		t.Error("Unwrap/Is")
	}
	if !errors.Is(&source.Error{Kind: source.KindTooLarge}, source.ErrTooLarge) {
		t.Error("KindTooLarge does not match ErrTooLarge")
	}
	for k, want := range map[source.Kind]string{
		source.KindNotFound: "not found", source.KindTooLarge: "too large", source.KindForbidden: "forbidden",
		source.KindInvalid: "invalid", source.KindUnavailable: "unavailable", source.KindTimeout: "timeout", 0: "Kind(0)",
	} {
		if k.String() != want {
			t.Errorf("Kind %d: %q, want %q", int(k), k.String(), want)
		}
	}
}
