package emulator

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
)

// blobStore keeps file contents. An upload is written to a staging blob while it
// streams in and becomes visible under its key only when committed.
type blobStore interface {
	create() (blobWriter, error)
	open(key string) (blob, error)
	// remove deletes a stored blob; a missing one is no error.
	remove(key string) error
}

type blobWriter interface {
	io.Writer
	// readerAt reads back what was written so far, before commit.
	readerAt() io.ReaderAt
	commit(key string) error
	abort()
}

// blob is a stored file: readable from anywhere and seekable, for http.ServeContent and probing.
type blob interface {
	io.ReadSeeker
	io.ReaderAt
	io.Closer
	Size() int64
}

var errBlobNotFound = errors.New("blob not found")

// memBlobs keeps contents in memory.
type memBlobs struct {
	mu    sync.RWMutex
	blobs map[string][]byte
}

func newMemBlobs() *memBlobs { return &memBlobs{blobs: map[string][]byte{}} }

func (m *memBlobs) create() (blobWriter, error) { return &memWriter{store: m}, nil }

func (m *memBlobs) open(key string) (blob, error) {
	m.mu.RLock()
	b, ok := m.blobs[key]
	m.mu.RUnlock()
	if !ok {
		return nil, errBlobNotFound
	}
	return memBlob{bytes.NewReader(b)}, nil
}

func (m *memBlobs) remove(key string) error {
	m.mu.Lock()
	delete(m.blobs, key)
	m.mu.Unlock()
	return nil
}

type memWriter struct {
	store *memBlobs
	buf   bytes.Buffer
}

func (w *memWriter) Write(p []byte) (int, error) { return w.buf.Write(p) }
func (w *memWriter) abort()                      { w.buf = bytes.Buffer{} }
func (w *memWriter) readerAt() io.ReaderAt       { return bytes.NewReader(w.buf.Bytes()) }
func (w *memWriter) commit(key string) error {
	w.store.mu.Lock()
	w.store.blobs[key] = w.buf.Bytes()
	w.store.mu.Unlock()
	return nil
}

type memBlob struct{ *bytes.Reader }

func (memBlob) Close() error { return nil }

// diskBlobs keeps contents as files under dir/blobs, staged in dir/tmp.
type diskBlobs struct{ dir string }

func newDiskBlobs(dir string) (*diskBlobs, error) {
	for _, sub := range []string{"blobs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("emulator: data dir: %w", err)
		}
	}
	// Staging files left by a crash are never committed.
	stale, _ := filepath.Glob(filepath.Join(dir, "tmp", "*"))
	for _, f := range stale {
		_ = os.Remove(f)
	}
	return &diskBlobs{dir: dir}, nil
}

func (d *diskBlobs) create() (blobWriter, error) {
	f, err := os.CreateTemp(filepath.Join(d.dir, "tmp"), "upload-*")
	if err != nil {
		return nil, err
	}
	return &diskWriter{f: f, dir: d.dir}, nil
}

func (d *diskBlobs) open(key string) (blob, error) {
	f, err := os.Open(filepath.Join(d.dir, "blobs", key)) //nolint:gosec // G304: a content key under the emulator's own data directory
	if errors.Is(err, os.ErrNotExist) {
		return nil, errBlobNotFound
	}
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		_ = f.Close()
		return nil, err
	}
	return diskBlob{File: f, size: st.Size()}, nil
}

func (d *diskBlobs) remove(key string) error {
	err := os.Remove(filepath.Join(d.dir, "blobs", key))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	return err
}

type diskWriter struct {
	f   *os.File
	dir string
}

func (w *diskWriter) Write(p []byte) (int, error) { return w.f.Write(p) }
func (w *diskWriter) readerAt() io.ReaderAt       { return w.f }
func (w *diskWriter) abort() {
	_ = w.f.Close()
	_ = os.Remove(w.f.Name())
}
func (w *diskWriter) commit(key string) error {
	if err := w.f.Close(); err != nil {
		_ = os.Remove(w.f.Name())
		return err
	}
	return os.Rename(w.f.Name(), filepath.Join(w.dir, "blobs", key))
}

type diskBlob struct {
	*os.File
	size int64
}

func (b diskBlob) Size() int64 { return b.size }
