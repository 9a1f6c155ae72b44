package worker

import (
	"context"
	"fmt"
	"net/http"
	"path"
	"strings"
	"sync"
	"time"

	lru "github.com/hashicorp/golang-lru/v2"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// The folder listings that ifExists reads are cached per run and folder: a bulk run of
// 10,000 files in 40 folders costs 40 listings, not 10,000 lookups. The cache is
// bounded in folders and short-lived, so that a long-running worker does not act on a
// picture of the media library that others have since changed.
const (
	existsCacheFolders = 256
	existsCacheTTL     = 2 * time.Minute
	// existsPageSize is the files API's largest page.
	existsPageSize = 1000
)

// ExistsError is the failure of a job whose destination holds a file it may not
// replace: ifExists=fail, or a file of another size with overwriteFile=false.
type ExistsError struct {
	Path   string // the file's path in the media library
	Reason string // "" for ifExists=fail
}

func (e *ExistsError) Error() string {
	if e.Reason != "" {
		return e.Path + " already exists " + e.Reason
	}
	return e.Path + " already exists (ifExists is fail)"
}

// existsCache holds folder listings: run and folder → the files directly in that
// folder, by path.
type existsCache struct {
	// A plain LRU with the age checked on reading: the expiring LRU of the same
	// library runs a goroutine per cache that nothing can stop.
	lru *lru.Cache[string, *folderListing]
	mu  sync.Mutex // makes one listing per key at a time
}

// folderListing is one folder's files, filled once; ready closes when it is.
type folderListing struct {
	read  time.Time // when the listing was asked for; older than existsCacheTTL is stale
	ready chan struct{}
	files map[string]imagekit.File
	err   error
}

func newExistsCache() *existsCache {
	c, err := lru.New[string, *folderListing](existsCacheFolders)
	if err != nil {
		panic(err) // only for a size below 1
	}
	return &existsCache{lru: c}
}

// lookup returns the file at folder/name, or nil. fresh skips the cached listing (a
// re-run: the earlier attempt may have uploaded since it was read) and asks for that
// one name, which costs one small call rather than the whole folder again.
func (c *existsCache) lookup(ctx context.Context, ik *imagekit.Client, run, folder, name string, fresh bool) (*imagekit.File, error) {
	if fresh {
		files, err := ik.ListFiles(ctx, imagekit.ListParams{Path: folder, Name: name})
		if err != nil {
			return nil, fmt.Errorf("looking up %s to check ifExists: %w", joinPath(folder, name), err)
		}
		for _, f := range files {
			if f.FileID != "" && f.FilePath == joinPath(folder, name) {
				return &f, nil
			}
		}
		return nil, nil
	}
	key := run + "\x00" + folder
	c.mu.Lock()
	l, ok := c.lru.Get(key)
	if ok && time.Since(l.read) > existsCacheTTL {
		ok = false
	}
	if !ok {
		l = &folderListing{read: time.Now(), ready: make(chan struct{})}
		c.lru.Add(key, l)
		c.mu.Unlock()
		l.files, l.err = listFolder(ctx, ik, folder)
		close(l.ready)
		if l.err != nil {
			c.lru.Remove(key) // the next job asks again
		}
	} else {
		c.mu.Unlock()
		select {
		case <-l.ready:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	if l.err != nil {
		return nil, l.err
	}
	if f, ok := l.files[joinPath(folder, name)]; ok {
		return &f, nil
	}
	return nil, nil
}

// listFolder reads every file directly in folder. The files API's path filter also
// matches subfolders, so files elsewhere are dropped here.
func listFolder(ctx context.Context, ik *imagekit.Client, folder string) (map[string]imagekit.File, error) {
	files := map[string]imagekit.File{}
	for skip := 0; ; skip += existsPageSize {
		page, err := ik.ListFiles(ctx, imagekit.ListParams{Path: folder, Limit: existsPageSize, Skip: skip})
		if err != nil {
			return nil, fmt.Errorf("listing %s to check ifExists: %w", folder, err)
		}
		for _, f := range page {
			if f.FileID != "" && path.Dir(f.FilePath) == folder {
				files[f.FilePath] = f
			}
		}
		if len(page) < existsPageSize {
			return files, nil
		}
	}
}

// joinPath is folder/name, folder being "/" or "/a/b".
func joinPath(folder, name string) string {
	return strings.TrimSuffix(folder, "/") + "/" + name
}

// cleanFolder is a job's folder as ImageKit names it: "/" or "/a/b".
func cleanFolder(folder string) string {
	segs := strings.FieldsFunc(folder, func(r rune) bool { return r == '/' })
	return "/" + strings.Join(segs, "/")
}

// existing is what checkExisting decided.
type existing struct {
	// skip is the file to complete the job with instead of uploading; nil uploads.
	skip *imagekit.UploadResult
	// message is the event to record with the outcome ("" for the default).
	message string
}

// checkExisting applies the job's ifExists before its upload. params are the upload's
// parameters, final file name included; it sets OverwriteFile as the mode needs. size
// is the source's size, -1 when unknown (then a file of any size counts as changed).
func (w *Worker) checkExisting(ctx context.Context, job *jobstore.Job, spec *tasks.Upload, params *imagekit.Params, size int64) (existing, error) {
	yes, no := true, false
	mode := spec.IfExists
	switch mode {
	case "":
		return existing{}, nil
	case tasks.IfExistsOverwrite:
		params.OverwriteFile = &yes
		return existing{}, nil
	}
	folder := cleanFolder(params.Folder)
	name := tasks.CleanFileName(params.FileName)
	p := joinPath(folder, name)
	f, err := w.exists.lookup(ctx, w.ik, spec.Run, folder, name, isRerun(job))
	if err != nil {
		return existing{}, err
	}
	if f == nil {
		// Nothing there: a plain upload. Overwriting stays allowed, so that a file put
		// there since the listing gets a version rather than failing the job, unless
		// the job wants to fail on an existing file.
		if mode == tasks.IfExistsFail {
			params.OverwriteFile = &no
		} else {
			params.OverwriteFile = &yes
		}
		return existing{}, nil
	}
	switch mode {
	case tasks.IfExistsSkip:
		if size >= 0 && f.Size == size {
			return existing{skip: asResult(f), message: fmt.Sprintf("skipped: %s already exists with the same size", p)}, nil
		}
		if spec.OverwriteFile != nil && !*spec.OverwriteFile {
			// The job itself forbids replacing a file: a new version would.
			return existing{}, &ExistsError{Path: p, Reason: fmt.Sprintf("with another size (%d bytes there, %d here), and overwriteFile is false", f.Size, size)}
		}
		params.OverwriteFile = &yes
		return existing{message: fmt.Sprintf("uploaded a new version of %s (its size differed: %d bytes there, %d here)", p, f.Size, size)}, nil
	case tasks.IfExistsVersion:
		params.OverwriteFile = &yes
		return existing{message: "uploaded a new version of " + p}, nil
	default: // fail
		// A re-run meeting the file its own earlier attempt uploaded takes it, as
		// adoptOwnUpload does for overwriteFile=false.
		if isRerun(job) && !f.CreatedAt.Before(job.CreatedAt) {
			return existing{skip: asResult(f), message: "an earlier attempt uploaded " + p}, nil
		}
		return existing{}, &ExistsError{Path: p}
	}
}

// asResult is a stored file as an upload's result.
func asResult(f *imagekit.File) *imagekit.UploadResult {
	return &imagekit.UploadResult{
		Status: http.StatusOK, FileID: f.FileID, Name: f.Name, FilePath: f.FilePath, URL: f.URL,
		FileType: f.FileType, Size: f.Size, Width: f.Width, Height: f.Height,
		VersionInfo: f.VersionInfo, AITags: f.AITags, Raw: f.Raw,
	}
}
