package source_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/redact"
	"github.com/ikq-dev/ikq/internal/source"
)

// refDecode decodes plain inline content the simple way, all in memory: the
// streaming decoder must agree with it.
func refDecode(s string) ([]byte, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\n', '\r', '\f', '\v', '=':
			return -1
		case '-':
			return '+'
		case '_':
			return '/'
		}
		return r
	}, s)
	return base64.RawStdEncoding.DecodeString(s)
}

func FuzzOpenInline(f *testing.F) {
	for _, s := range []string{
		"", "QQ==", "QQ", "QUJD", "QUJDRA", "ab+_", "QQ==QQ==", "QQ===", "Q", "  QU\nJD\t",
		base64.StdEncoding.EncodeToString(pngBytes), base64.RawURLEncoding.EncodeToString(pseudoRandom(100)),
		"image/png;base64,iVBORw0KGgo=", ";base64,", "text/plain,hello", "image/png;base64,QQ%3D%3D", "%zz",
	} {
		f.Add(s)
	}
	o := source.New(source.Config{MaxSize: 1 << 16})
	f.Fuzz(func(t *testing.T, s string) {
		var refs []string
		if !strings.Contains(s, ":") { // anything with a colon could be a URL to fetch
			refs = append(refs, s)
		}
		refs = append(refs, "data:"+s, "data:;base64,"+s)
		for _, ref := range refs {
			src, err := o.Open(t.Context(), ref)
			if err != nil {
				var e *source.Error
				if !errors.As(err, &e) || e.Retryable {
					t.Fatalf("Open(%q): %v", ref, err)
				}
				if strings.Contains(err.Error(), s) && len(s) > 8 {
					t.Fatalf("Open(%q): the error quotes the content: %v", ref, err)
				}
				continue
			}
			got, err := io.ReadAll(src.Body)
			_ = src.Body.Close()
			if errors.Is(err, source.ErrTooLarge) {
				continue
			}
			if err != nil {
				t.Fatalf("Open(%q) succeeded, reading failed: %v", ref, err)
			}
			if src.Size != int64(len(got)) {
				t.Fatalf("Open(%q): Size %d, read %d bytes", ref, src.Size, len(got))
			}
			if src.ContentType == "" || strings.Contains(src.ContentType, ";") {
				t.Fatalf("Open(%q): ContentType %q", ref, src.ContentType)
			}
			if ref == s {
				want, err := refDecode(strings.TrimSpace(s))
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Open(%q) decoded %x; the reference decoder says %x, %v", ref, got, want, err)
				}
			}
		}
	})
}

func FuzzRedact(f *testing.F) {
	for _, s := range []string{
		"https://user:secret@example.com/a.png?X-Amz-Signature=abc",
		"https://example.com/a.png#frag?x", "http://a@b@c/d@e?f#g", "user:pass@host/x",
		"http://user:pa/ss@host/x", "s3://bucket/key?region=eu", "file:///a/b", "mem://b/k",
		"data:image/png;base64,QQ==", "QQ==", "", ":", "//u:p@h/", "http:u:p@h", "a:b@c:d@e/f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := source.Redact(s)
		if strings.HasPrefix(out, "inline content (") {
			if want := fmt.Sprintf("inline content (%d bytes)", len(s)); out != want {
				t.Fatalf("Redact(%q) = %q, want %q", s, out, want)
			}
			return
		}
		// URLs follow the one policy (its own fuzz targets check it in depth).
		if want := redact.URL(s); out != want {
			t.Fatalf("Redact(%q) = %q, but redact.URL gives %q", s, out, want)
		}
		if u, err := url.Parse(out); err == nil && u.User != nil {
			t.Fatalf("Redact(%q) = %q keeps userinfo %q", s, out, u.User)
		}
	})
}
