package source_test

import (
	"bytes"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/ikq-dev/ikq/internal/source"
)

// fileURL makes a file:// URL of an OS path, escaped as it must be.
func fileURL(p string) string {
	return (&url.URL{Scheme: "file", Path: filepath.ToSlash(p)}).String()
}

// fileTree makes a root holding photo.png, "my photo.png", sub/, a symlink to
// photo.png and a symlink escaping to a sibling directory's secret.txt, which
// exists so that refusing it proves containment, not absence.
func fileTree(t *testing.T) (root, outside string) {
	t.Helper()
	root, outside = t.TempDir(), t.TempDir()
	write := func(p string, b []byte) {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(root, "photo.png"), pngBytes)
	write(filepath.Join(root, "my photo.png"), pngBytes)
	write(filepath.Join(outside, "secret.txt"), []byte("secret"))
	if err := os.Mkdir(filepath.Join(root, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for link, target := range map[string]string{
		"link.png":   filepath.Join(root, "photo.png"),
		"escape.txt": filepath.Join(outside, "secret.txt"),
		"escapedir":  outside,
	} {
		if err := os.Symlink(target, filepath.Join(root, link)); err != nil {
			t.Skipf("no symlinks here: %v", err)
		}
	}
	return root, outside
}

func TestOpenFile(t *testing.T) {
	t.Parallel()
	root, _ := fileTree(t)
	tests := []struct {
		name     string
		ref      string
		wantName string
	}{
		{"inside the root", fileURL(filepath.Join(root, "photo.png")), "photo.png"},
		{"escaped name", fileURL(filepath.Join(root, "my photo.png")), "my photo.png"},
		{"symlink inside the root", fileURL(filepath.Join(root, "link.png")), "link.png"},
		{"dot segments that stay inside", fileURL(root) + "/sub/../photo.png", "photo.png"},
		{"localhost", "file://localhost" + filepath.ToSlash(filepath.Join(root, "photo.png")), "photo.png"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOpener(source.Config{FileRoot: root})
			src, err := o.Open(t.Context(), tt.ref)
			if err != nil {
				t.Fatal(err)
			}
			if src.Name != tt.wantName || src.Size != int64(len(pngBytes)) || src.ContentType != "image/png" || src.Attempts != 1 {
				t.Errorf("got Name %q Size %d ContentType %q Attempts %d", src.Name, src.Size, src.ContentType, src.Attempts)
			}
			if got := readAll(t, src); !bytes.Equal(got, pngBytes) {
				t.Errorf("got %d bytes, want the file's %d", len(got), len(pngBytes))
			}
		})
	}
}

func TestOpenFileRefused(t *testing.T) {
	t.Parallel()
	root, outside := fileTree(t)
	// A root reached through a symlink works like the real one.
	linkedRoot := filepath.Join(t.TempDir(), "root")
	if err := os.Symlink(root, linkedRoot); err != nil {
		t.Skip(err)
	}
	tests := []struct {
		name string
		root string
		ref  string
		want source.Kind
	}{
		{"dot-dot out of the root", root, fileURL(root) + "/../" + filepath.Base(outside) + "/secret.txt", source.KindForbidden},
		{"symlink out of the root", root, fileURL(filepath.Join(root, "escape.txt")), source.KindForbidden},
		{"through a symlinked directory", root, fileURL(filepath.Join(root, "escapedir", "secret.txt")), source.KindForbidden},
		{"absolute path elsewhere", root, fileURL(filepath.Join(outside, "secret.txt")), source.KindForbidden},
		{"missing elsewhere is still forbidden", root, fileURL(filepath.Join(outside, "nope")), source.KindForbidden},
		{"no file root", "", fileURL(filepath.Join(root, "photo.png")), source.KindForbidden},
		{"missing", root, fileURL(filepath.Join(root, "nope.png")), source.KindNotFound},
		{"under a file", root, fileURL(filepath.Join(root, "photo.png", "x")), source.KindNotFound},
		{"missing through a linked root", linkedRoot, fileURL(filepath.Join(linkedRoot, "nope.png")), source.KindNotFound},
		{"directory", root, fileURL(filepath.Join(root, "sub")), source.KindInvalid},
		{"the root itself", root, fileURL(root), source.KindInvalid},
		{"another host", root, "file://example.com" + filepath.ToSlash(filepath.Join(root, "photo.png")), source.KindInvalid},
		{"relative", root, "file:photo.png", source.KindInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOpener(source.Config{FileRoot: tt.root})
			src, err := o.Open(t.Context(), tt.ref)
			if err == nil {
				_ = src.Body.Close()
				t.Fatalf("Open(%q) succeeded", tt.ref)
			}
			e := sourceError(t, err)
			if e.Kind != tt.want || e.Retryable || e.Attempts != 1 || e.Status != 0 {
				t.Errorf("got Kind %v Retryable %v Attempts %d, want %v, permanent: %v", e.Kind, e.Retryable, e.Attempts, tt.want, err)
			}
		})
	}

	t.Run("linked root allows its files", func(t *testing.T) {
		t.Parallel()
		o, _ := newOpener(source.Config{FileRoot: linkedRoot})
		src, err := o.Open(t.Context(), fileURL(filepath.Join(linkedRoot, "photo.png")))
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, src)
	})
}

func TestOpenFileTooLarge(t *testing.T) {
	t.Parallel()
	root, _ := fileTree(t)
	o, _ := newOpener(source.Config{FileRoot: root, MaxSize: 10})
	_, err := o.Open(t.Context(), fileURL(filepath.Join(root, "photo.png")))
	if e := sourceError(t, err); e.Kind != source.KindTooLarge || e.Retryable {
		t.Fatalf("got %v", err)
	}
}
