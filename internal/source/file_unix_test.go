//go:build unix

package source_test

import (
	"path/filepath"
	"syscall"
	"testing"

	"github.com/ikq-dev/ikq/internal/source"
)

// A FIFO is refused without being opened: opening one blocks until a writer
// comes.
func TestOpenFileFIFO(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	p := filepath.Join(root, "pipe")
	if err := syscall.Mkfifo(p, 0o644); err != nil {
		t.Skip(err)
	}
	o, _ := newOpener(source.Config{FileRoot: root})
	_, err := o.Open(t.Context(), fileURL(p))
	if e := sourceError(t, err); e.Kind != source.KindInvalid || e.Retryable {
		t.Fatalf("got %v", err)
	}
}
