package bulk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"unicode"

	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/tasks"
)

// item is one item of a run: where it came from and its job.
type item struct {
	line int    // the manifest line; 0 for a file of a folder
	path string // the file of the folder, under it as the user named it
	ref  string // the source's identity: unique suffixes and idempotency keys derive from it
	rel  string // the path -include and -exclude match: under the folder or bucket prefix
	size int64  // -1 when unknown
	job  *tasks.Upload
	err  error // the item is not a valid job, and err says why
}

// name is how messages name the item.
func (it *item) name() string {
	if it.path != "" {
		return it.path
	}
	return fmt.Sprintf("line %d", it.line)
}

// source streams the items of a run to yield, stopping at yield's first error.
type source interface {
	items(ctx context.Context, yield func(*item) error) error
}

// UsageError is a source or option the user got wrong: the command exits 2.
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

func usagef(format string, args ...any) error { return &UsageError{fmt.Sprintf(format, args...)} }

// openSource tells what arg is: "-" (a manifest on stdin), a folder or a manifest.
func openSource(arg, format string, stdin io.Reader, lister Lister) (source, *dirSource, error) {
	if isBucketRef(arg) {
		if format != "" {
			return nil, nil, usagef("-format is for manifests, and %s is a bucket prefix", arg)
		}
		if lister == nil {
			return nil, nil, usagef("cannot list %s: no object stores configured", arg)
		}
		return &bucketSource{ref: arg, lister: lister}, nil, nil
	}
	if arg == "-" {
		if format == "" {
			return nil, nil, usagef("reading a manifest from stdin needs -format csv or -format jsonl")
		}
		return &manifestSource{r: stdin, format: format, name: "stdin"}, nil, nil
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, nil, usagef("cannot read %s: %v", arg, unwrapPath(err))
	}
	if fi.IsDir() {
		if format != "" {
			return nil, nil, usagef("-format is for manifests, and %s is a directory", arg)
		}
		d, err := newDirSource(arg)
		return d, d, err
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(arg)) {
		case ".csv":
			format = formatCSV
		case ".jsonl", ".ndjson":
			format = formatJSONL
		default:
			return nil, nil, usagef("cannot tell the format of %s: name it .csv, .jsonl or .ndjson, or give -format", arg)
		}
	}
	return &manifestSource{path: arg, format: format, name: arg}, nil, nil
}

// unwrapPath drops the path that an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// manifestSource reads a manifest file, or r when path is "".
type manifestSource struct {
	path, format, name string
	r                  io.Reader
}

func (m *manifestSource) items(ctx context.Context, yield func(*item) error) error {
	r := m.r
	if m.path != "" {
		f, err := os.Open(m.path)
		if err != nil {
			return usagef("cannot read %s: %v", m.path, unwrapPath(err))
		}
		defer func() { _ = f.Close() }() // read only
		r = f
	}
	err := readManifest(r, m.format, func(mi manifestItem) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		it := &item{line: mi.Line, job: mi.Job, err: mi.Err, size: -1}
		if it.job != nil {
			it.ref = it.job.File
			it.rel = strings.TrimPrefix(joinFolder(it.job.Folder, it.job.FileName), "/")
		}
		return yield(it)
	})
	var le *lineError
	if errors.As(err, &le) { // a manifest that cannot be read past that line
		return usagef("%s, %v", m.name, err)
	}
	return err
}

// dirSource walks a folder.
type dirSource struct {
	dir      string // as the user named it
	abs      string
	realRoot string
	// skipped reports a file left out, with the reason.
	skipped func(string)
}

func newDirSource(dir string) (*dirSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, usagef("cannot read %s: %v", dir, err)
	}
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, usagef("cannot read %s: %v", dir, unwrapPath(err))
	}
	return &dirSource{dir: dir, abs: abs, realRoot: realRoot, skipped: func(string) {}}, nil
}

// items yields every regular file under the folder, in lexical order. Hidden files
// and folders are skipped without a word. A symlink is followed when it leads to a
// regular file inside the folder; workers confine file:// sources to their root,
// symlinks resolved, in the same way. Other files are skipped with the reason.
func (d *dirSource) items(ctx context.Context, yield func(*item) error) error {
	err := filepath.WalkDir(d.abs, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p == d.abs {
			return nil
		}
		if strings.HasPrefix(e.Name(), ".") {
			if e.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if e.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(d.abs, p)
		if err != nil {
			return err
		}
		name := filepath.Join(d.dir, rel)
		fi, err := os.Stat(p) // through a symlink
		switch {
		case err != nil:
			d.skipped(fmt.Sprintf("%s: %v", name, unwrapPath(err)))
		case fi.IsDir(): // a symlink to a folder
		case !fi.Mode().IsRegular():
			d.skipped(name + ": not a regular file")
		case e.Type()&fs.ModeSymlink != 0 && !linkWithin(d.realRoot, p):
			d.skipped(fmt.Sprintf("%s: a symlink that leads outside %s", name, d.dir))
		default:
			return yield(&item{path: name, rel: filepath.ToSlash(rel), ref: "file:" + filepath.ToSlash(rel), size: fi.Size(), job: fileJob(p, rel)})
		}
		return nil
	})
	if err != nil && ctx.Err() == nil {
		var ue *UsageError
		if errors.As(err, &ue) {
			return err
		}
		return fmt.Errorf("reading %s: %w", d.dir, err)
	}
	return err
}

// linkWithin reports whether the symlink p resolves to a path under root.
func linkWithin(root, p string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(root, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// fileJob is the job of the file at abs. rel is the file's path under the folder: its
// folders become the job's, with characters ImageKit does not allow in folder names
// made _.
func fileJob(abs, rel string) *tasks.Upload {
	var segs []string
	if dir := filepath.Dir(rel); dir != "." {
		for seg := range strings.SplitSeq(filepath.ToSlash(dir), "/") {
			segs = append(segs, strings.Map(func(r rune) rune {
				if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_' || r == '-' {
					return r
				}
				return '_'
			}, seg))
		}
	}
	return &tasks.Upload{
		File:     (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(),
		FileName: filepath.Base(abs),
		Folder:   "/" + strings.Join(segs, "/"),
	}
}

// errStop ends a read early without being an error.
var errStop = errors.New("stop")

// Check reports a source the user got wrong (a missing file, a format it cannot
// tell, a manifest header that names no job field) as a *UsageError, before anything
// else is set up. A manifest on stdin is checked as it is read.
func Check(arg, format string) error {
	if isBucketRef(arg) {
		return nil // listed when the run starts
	}
	src, _, err := openSource(arg, format, nil, nil)
	if err != nil {
		return err
	}
	m, ok := src.(*manifestSource)
	if !ok || m.path == "" {
		return nil
	}
	err = m.items(context.Background(), func(*item) error { return errStop })
	if errors.Is(err, errStop) {
		return nil
	}
	return err
}

// Lister lists the objects under a bucket prefix as a stream (objstore.Stores).
type Lister interface {
	List(ctx context.Context, prefixRef string, yield func(objstore.Object) error) error
}

// bucketSchemes are the references a run lists as a bucket prefix.
var bucketSchemes = []string{"s3://", "gs://", "azblob://", "mem://"}

func isBucketRef(arg string) bool {
	for _, s := range bucketSchemes {
		if strings.HasPrefix(strings.ToLower(arg), s) {
			return true
		}
	}
	return false
}

// bucketSource lists a bucket prefix: one job per object, which workers read from
// the store directly.
type bucketSource struct {
	ref    string
	lister Lister
}

// items yields every object under the prefix. Its destination is the folder prefix
// joined with the key's folders below the prefix's own folder, under its own name.
func (b *bucketSource) items(ctx context.Context, yield func(*item) error) error {
	u, err := url.Parse(b.ref)
	if err != nil {
		return usagef("%s is not a bucket reference: %v", b.ref, err)
	}
	prefix := strings.TrimPrefix(u.Path, "/")
	base := prefix[:strings.LastIndexByte(prefix, '/')+1] // "" or "a/b/"
	return b.lister.List(ctx, b.ref, func(o objstore.Object) error {
		rel := strings.TrimPrefix(o.Key, base)
		if strings.HasSuffix(rel, "/") || rel == "" {
			return nil // a folder marker
		}
		job := &tasks.Upload{File: o.Ref, FileName: path.Base(rel), Folder: "/" + cleanFolderPath(path.Dir(rel))}
		return yield(&item{path: o.Ref, rel: rel, ref: o.Ref, size: o.Size, job: job})
	})
}

// cleanFolderPath makes each segment of a relative folder one ImageKit accepts.
func cleanFolderPath(dir string) string {
	if dir == "." || dir == "" {
		return ""
	}
	segs := strings.Split(dir, "/")
	for i, seg := range segs {
		segs[i] = strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_' || r == '-' {
				return r
			}
			return '_'
		}, seg)
	}
	return strings.Join(segs, "/")
}
