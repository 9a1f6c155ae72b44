package ledger

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/ikq-dev/ikq/internal/imagekit"
)

// The cache is bounded in folders and short-lived, so that a long-running worker does
// not act on a picture of the media library that others have since changed.
const (
	cacheFolders = 256
	cacheTTL     = 2 * time.Minute
	// pageSize is the files API's largest page.
	pageSize = 1000
)

// Cache holds folder listings: run and folder → the files directly in that folder,
// by path. It is safe for concurrent use; one listing of a key runs at a time. Expiry
// is checked on use, so the cache has no goroutine of its own to stop.
type Cache struct {
	mu      sync.Mutex
	entries map[string]*listing
	now     func() time.Time
}

// listing is one folder's files, filled once; ready closes when it is.
type listing struct {
	ready chan struct{}
	at    time.Time // when it was asked for
	files map[string]imagekit.File
	err   error
}

// New returns an empty Cache.
func New() *Cache {
	return &Cache{entries: map[string]*listing{}, now: time.Now}
}

// get returns the listing of key, or a new one the caller fills (fill true).
func (c *Cache) get(key string) (l *listing, fill bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if l, ok := c.entries[key]; ok && now.Sub(l.at) < cacheTTL {
		return l, false
	}
	if len(c.entries) >= cacheFolders {
		// Full: drop the expired listings, else the oldest.
		var oldest string
		for k, e := range c.entries {
			if now.Sub(e.at) >= cacheTTL {
				delete(c.entries, k)
			} else if oldest == "" || e.at.Before(c.entries[oldest].at) {
				oldest = k
			}
		}
		if len(c.entries) >= cacheFolders {
			delete(c.entries, oldest)
		}
	}
	l = &listing{ready: make(chan struct{}), at: now}
	c.entries[key] = l
	return l, true
}

// drop forgets l, if it is still key's listing.
func (c *Cache) drop(key string, l *listing) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries[key] == l {
		delete(c.entries, key)
	}
}

// Lookup returns the file at folder/name, or nil. fresh skips the cached listing (a
// re-run: the earlier attempt may have uploaded since it was read) and asks for that
// one name, which costs one small call rather than the whole folder again. folder is
// as CleanFolder makes it.
func (c *Cache) Lookup(ctx context.Context, ik *imagekit.Client, run, folder, name string, fresh bool) (*imagekit.File, error) {
	if fresh {
		files, err := ik.ListFiles(ctx, imagekit.ListParams{Path: folder, Name: name})
		if err != nil {
			return nil, fmt.Errorf("looking up %s to check ifExists: %w", JoinPath(folder, name), err)
		}
		for _, f := range files {
			if f.FileID != "" && f.FilePath == JoinPath(folder, name) {
				return &f, nil
			}
		}
		return nil, nil
	}
	key := run + "\x00" + folder
	l, fill := c.get(key)
	if fill {
		l.files, l.err = listFolder(ctx, ik, folder)
		close(l.ready)
		if l.err != nil {
			c.drop(key, l) // the next lookup asks again
		}
	} else {
		select {
		case <-l.ready:
		case <-ctx.Done():
			return nil, context.Cause(ctx)
		}
	}
	if l.err != nil {
		return nil, l.err
	}
	if f, ok := l.files[JoinPath(folder, name)]; ok {
		return &f, nil
	}
	return nil, nil
}

// listFolder reads every file directly in folder. The files API's path filter also
// matches subfolders, so files elsewhere are dropped here.
func listFolder(ctx context.Context, ik *imagekit.Client, folder string) (map[string]imagekit.File, error) {
	files := map[string]imagekit.File{}
	for skip := 0; ; skip += pageSize {
		page, err := ik.ListFiles(ctx, imagekit.ListParams{Path: folder, Limit: pageSize, Skip: skip})
		if err != nil {
			return nil, fmt.Errorf("listing %s to check ifExists: %w", folder, err)
		}
		for _, f := range page {
			if f.FileID != "" && path.Dir(f.FilePath) == folder {
				files[f.FilePath] = f
			}
		}
		if len(page) < pageSize {
			return files, nil
		}
	}
}

// JoinPath is folder/name, folder being "/" or "/a/b".
func JoinPath(folder, name string) string {
	return strings.TrimSuffix(folder, "/") + "/" + name
}

// CleanFolder is a job's folder as ImageKit names it: "/" or "/a/b".
func CleanFolder(folder string) string {
	segs := strings.FieldsFunc(folder, func(r rune) bool { return r == '/' })
	return "/" + strings.Join(segs, "/")
}
