package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// openFile opens file:///abs/path when the path, symlinks resolved, lies under
// Config.FileRoot, symlinks resolved too.
func (o *Opener) openFile(ctx context.Context, u *url.URL) (*Source, error) {
	ref := u.String()
	if o.cfg.FileRoot == "" {
		return nil, permanent(KindForbidden, ref, errors.New("file:// sources are not enabled (no file root configured)"))
	}
	if u.Host != "" && u.Host != "localhost" {
		return nil, permanent(KindInvalid, ref, fmt.Errorf("file:// URL names host %q; only local files are allowed", u.Host))
	}
	if u.Opaque != "" || !strings.HasPrefix(u.Path, "/") {
		return nil, permanent(KindInvalid, ref, errors.New("file:// URL needs an absolute path (file:///abs/path)"))
	}
	p := filepath.Clean(filepath.FromSlash(u.Path))
	if !filepath.IsAbs(p) {
		return nil, permanent(KindInvalid, ref, errors.New("file:// URL needs an absolute path (file:///abs/path)"))
	}
	root, err := filepath.Abs(o.cfg.FileRoot)
	if err != nil {
		return nil, permanent(KindForbidden, ref, errors.New("the file root cannot be resolved"))
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return nil, transient(KindUnavailable, ref, errors.New("the file root cannot be resolved"))
	}
	outside := permanent(KindForbidden, ref, errors.New("path is outside the file root"))
	// A path outside the root, as written, is refused before anything about it
	// is looked up, so errors do not tell what exists elsewhere.
	if !within(root, p) && !within(realRoot, p) {
		return nil, outside
	}
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return nil, fileError(ref, err)
	}
	if !within(realRoot, real) {
		return nil, outside
	}
	rel, err := filepath.Rel(realRoot, real)
	if err != nil {
		return nil, outside
	}
	// Open through an os.Root, so a symlink swapped in after the check above
	// still cannot lead outside.
	r, err := os.OpenRoot(realRoot)
	if err != nil {
		return nil, fileError(ref, err)
	}
	defer func() { _ = r.Close() }()
	// Stat before opening: opening a FIFO would block.
	fi, err := r.Stat(rel)
	if err != nil {
		return nil, fileError(ref, err)
	}
	if err := regular(fi); err != nil {
		return nil, permanent(KindInvalid, ref, err)
	}
	f, err := r.Open(rel)
	if err != nil {
		return nil, fileError(ref, err)
	}
	fi, err = f.Stat()
	if err == nil {
		err = regular(fi)
	}
	if err != nil {
		_ = f.Close()
		return nil, permanent(KindInvalid, ref, err)
	}
	return &Source{Body: f, Name: filepath.Base(p), Size: fi.Size()}, nil
}

func regular(fi fs.FileInfo) error {
	switch {
	case fi.IsDir():
		return errors.New("is a directory")
	case !fi.Mode().IsRegular():
		return errors.New("not a regular file")
	}
	return nil
}

// fileError classifies a file system error without its path (the path is in
// Ref already, and the resolved one may reveal more than the caller wrote).
func fileError(ref string, err error) *Error {
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return permanent(KindNotFound, ref, errors.New("no such file"))
	case errors.Is(err, fs.ErrPermission):
		return permanent(KindForbidden, ref, errors.New("permission denied"))
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	// os.Root refuses paths that escape it, with an unexported error.
	return permanent(KindForbidden, ref, err)
}

// within reports whether p is dir or under it; both are clean absolute paths.
func within(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	if err != nil {
		return false
	}
	return rel == "." || (rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel))
}
