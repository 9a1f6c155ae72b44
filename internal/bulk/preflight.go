package bulk

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"strings"

	"github.com/ikq-dev/ikq/tasks"
)

// Default size limits of the dry run's pre-flight: ImageKit's free plan.
const (
	DefaultMaxSize      = 25 << 20
	DefaultMaxVideoSize = 100 << 20
	sniffBytes          = 3072 // what type detection reads of a file
	preflightFolders    = 64   // folder listings a dry run keeps
)

// Preflight says what a dry run checks besides the job specs: what ImageKit would
// refuse, and what it holds already.
type Preflight struct {
	// MaxSize and MaxVideoSize are the largest files ImageKit takes; defaults
	// DefaultMaxSize and DefaultMaxVideoSize.
	MaxSize, MaxVideoSize int64
	// Detect gives the type ImageKit sees in a file's first bytes and name, and
	// whether it accepts it; nil checks no types.
	Detect func(head []byte, name string) (mime string, ok bool)
	// IsVideo tells the video types, which have their own limit.
	IsVideo func(mime string) bool
	// Files lists what a folder holds (path → size); nil checks nothing there.
	Files FolderLister
}

// FolderLister lists the files directly in a folder of the media library.
type FolderLister interface {
	ListFolder(ctx context.Context, folder string) (map[string]int64, error)
}

// preflight checks items of a dry run one at a time; it keeps a few folder listings.
type preflight struct {
	cfg                   *Preflight
	folders               map[string]map[string]int64
	order                 []string
	refused               groups
	nRefused, same, other int
	listErr               error
}

func newPreflight(cfg *Preflight) *preflight {
	if cfg.MaxSize <= 0 {
		cfg.MaxSize = DefaultMaxSize
	}
	if cfg.MaxVideoSize <= 0 {
		cfg.MaxVideoSize = DefaultMaxVideoSize
	}
	return &preflight{cfg: cfg, folders: map[string]map[string]int64{}}
}

// check looks at one valid item.
func (p *preflight) check(ctx context.Context, it *item) {
	if reason := p.refusal(it); reason != "" {
		p.nRefused++
		p.refused.add(reason, it.name())
		return
	}
	if p.cfg.Files == nil || p.listErr != nil {
		return
	}
	folder := joinFolder(it.job.Folder, "")
	files, ok := p.folders[folder]
	if !ok {
		var err error
		if files, err = p.cfg.Files.ListFolder(ctx, folder); err != nil {
			p.listErr = err
			return
		}
		if len(p.order) == preflightFolders {
			delete(p.folders, p.order[0])
			p.order = p.order[1:]
		}
		p.folders[folder], p.order = files, append(p.order, folder)
	}
	size, exists := files[strings.TrimSuffix(folder, "/")+"/"+tasks.CleanFileName(it.job.FileName)]
	switch {
	case !exists:
	case it.size >= 0 && size == it.size:
		p.same++
	default:
		p.other++
	}
}

// refusal is why ImageKit would refuse the item's file, or "". Only files on this
// machine are read; other sources are checked by their listed size.
func (p *preflight) refusal(it *item) string {
	size := it.size
	var head []byte
	if u, err := url.Parse(it.job.File); err == nil && u.Scheme == "file" {
		f, err := os.Open(u.Path)
		if err != nil {
			return "cannot be read: " + unwrapPath(err).Error()
		}
		buf := make([]byte, sniffBytes)
		n, _ := io.ReadFull(f, buf)
		_ = f.Close() // read only
		head = buf[:n]
	}
	if size == 0 {
		return "empty file"
	}
	limit := p.cfg.MaxSize
	if head != nil && p.cfg.Detect != nil {
		mime, ok := p.cfg.Detect(head, it.job.FileName)
		if !ok {
			return "file type not allowed"
		}
		if p.cfg.IsVideo != nil && p.cfg.IsVideo(mime) {
			limit = p.cfg.MaxVideoSize
		}
	}
	if size > limit {
		if limit < 1<<20 {
			return fmt.Sprintf("over the size limit (%d bytes)", limit)
		}
		return fmt.Sprintf("over the size limit (%.1f MB)", float64(limit)/(1<<20))
	}
	return ""
}

// report prints what the checks found.
func (p *preflight) report(w io.Writer) {
	if p.nRefused > 0 {
		fmt.Fprintf(w, "ImageKit would refuse %s:\n", plural(p.nRefused, "file"))
		p.refused.print(w)
	}
	switch {
	case p.cfg.Files == nil:
		fmt.Fprintln(w, "not checked against ImageKit (set IMAGEKIT_PRIVATE_KEY to see what is already there)")
	case p.listErr != nil:
		fmt.Fprintf(w, "could not check what ImageKit holds: %v\n", p.listErr)
	default:
		fmt.Fprintf(w, "already in ImageKit: %d with the same size (would be skipped), %d with another size (would get a new version)\n", p.same, p.other)
	}
}
