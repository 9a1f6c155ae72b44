package source_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/source"
)

// wrap breaks s into lines of n, as MIME encoders do.
func wrap(s string, n int, sep string) string {
	var b strings.Builder
	for len(s) > n {
		b.WriteString(s[:n])
		b.WriteString(sep)
		s = s[n:]
	}
	b.WriteString(s)
	return b.String()
}

func TestOpenInline(t *testing.T) {
	t.Parallel()
	data := pseudoRandom(1000)
	std := base64.StdEncoding.EncodeToString(data)
	urlSafe := base64.URLEncoding.EncodeToString(data)
	if !strings.ContainsAny(std, "+/") || !strings.ContainsAny(urlSafe, "-_") || !strings.HasSuffix(std, "=") {
		t.Fatal("test data should use the characters where the alphabets differ, and padding")
	}
	tests := []struct {
		name     string
		ref      string
		want     []byte
		wantType string
	}{
		{"data URI", "data:image/png;base64," + base64.StdEncoding.EncodeToString(pngBytes), pngBytes, "image/png"},
		{"data URI, declared type wins", "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(pngBytes), pngBytes, "image/jpeg"},
		{"data URI with parameters", "data:text/plain;charset=utf-8;base64,aGVsbG8=", []byte("hello"), "text/plain"},
		{"data URI, upper case", "DATA:image/png;BASE64," + base64.StdEncoding.EncodeToString(pngBytes), pngBytes, "image/png"},
		{"data URI without a type is sniffed", "data:;base64," + base64.StdEncoding.EncodeToString(pngBytes), pngBytes, "image/png"},
		{"data URI octet-stream is sniffed", "data:application/octet-stream;base64," + base64.StdEncoding.EncodeToString(pngBytes), pngBytes, "image/png"},
		{"data URI percent-encoded", "data:application/x-test;base64," + strings.NewReplacer("+", "%2B", "/", "%2F", "=", "%3D").Replace(std), data, "application/x-test"},
		{"data URI, MIME lines", "data:application/x-test;base64," + wrap(std, 76, "\r\n"), data, "application/x-test"},
		{"plain PNG is sniffed", base64.StdEncoding.EncodeToString(pngBytes), pngBytes, "image/png"},
		{"std", std, data, "application/octet-stream"},
		{"url-safe", urlSafe, data, "application/octet-stream"},
		{"std unpadded", base64.RawStdEncoding.EncodeToString(data), data, "application/octet-stream"},
		{"url-safe unpadded", base64.RawURLEncoding.EncodeToString(data), data, "application/octet-stream"},
		{"newlines", wrap(std, 76, "\n"), data, "application/octet-stream"},
		{"spaces and tabs", "  " + wrap(std, 10, " \t") + "\n", data, "application/octet-stream"},
		{"one byte", "QQ==", []byte("A"), "text/plain"},
		{"one byte unpadded", "QQ", []byte("A"), "text/plain"},
		{"two bytes", "QUI=", []byte("AB"), "text/plain"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOpener(source.Config{})
			src, err := o.Open(t.Context(), tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if src.Name != "" || src.Size != int64(len(tt.want)) || src.ContentType != tt.wantType || src.Attempts != 1 {
				t.Errorf("got Name %q Size %d ContentType %q Attempts %d; want Size %d ContentType %q",
					src.Name, src.Size, src.ContentType, src.Attempts, len(tt.want), tt.wantType)
			}
			if got := readAll(t, src); !bytes.Equal(got, tt.want) {
				t.Errorf("decoded %d bytes, not the %d encoded", len(got), len(tt.want))
			}
		})
	}
}

func TestOpenInlineInvalid(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, ref string
		want      source.Kind
	}{
		{"empty", "", source.KindInvalid},
		{"only spaces", "   ", source.KindInvalid},
		{"bad character", "QUJD$", source.KindInvalid},
		{"a path is no base64", "photo.jpg", source.KindInvalid},
		{"truncated", "QUJDR", source.KindInvalid},
		{"data after padding", "QQ==QUJD", source.KindInvalid},
		{"too much padding", "QQ===", source.KindInvalid},
		{"wrong padding", "QUI==", source.KindInvalid},
		{"mixed alphabets", "ab+_", source.KindInvalid},
		{"empty content", "data:image/png;base64,", source.KindInvalid},
		{"data URI not base64", "data:text/plain,hello", source.KindInvalid},
		{"data URI without a comma", "data:image/png;base64", source.KindInvalid},
		{"data URI bad base64", "data:image/png;base64,!!!!", source.KindInvalid},
		{"data URI bad escape", "data:image/png;base64,QQ%zz", source.KindInvalid},
		{"unsupported scheme", "ftp://example.com/a.png", source.KindInvalid},
		{"bad URL", "http://[::1", source.KindInvalid},
		{"http without a host", "http:///a.png", source.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOpener(source.Config{})
			src, err := o.Open(t.Context(), tt.ref)
			if err == nil {
				_ = src.Body.Close()
				t.Fatalf("Open(%q) succeeded", tt.ref)
			}
			if e := sourceError(t, err); e.Kind != tt.want || e.Retryable || e.Attempts != 1 {
				t.Errorf("got Kind %v Retryable %v Attempts %d: %v", e.Kind, e.Retryable, e.Attempts, err)
			}
		})
	}
}

func TestOpenInlineTooLarge(t *testing.T) {
	t.Parallel()
	o, _ := newOpener(source.Config{MaxSize: 2})
	if _, err := o.Open(t.Context(), "QUJD"); !errors.Is(err, source.ErrTooLarge) {
		t.Fatalf("got %v", err)
	}
	src, err := o.Open(t.Context(), "QUI=")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
}

func TestBodyStopsWithContext(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	o, _ := newOpener(source.Config{})
	src, err := o.Open(ctx, base64.StdEncoding.EncodeToString(pseudoRandom(10000)))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Body.Close() }()
	if _, err := src.Body.Read(make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := io.ReadAll(src.Body); !errors.Is(err, context.Canceled) {
		t.Fatalf("Read after cancel: %v", err)
	}
}
