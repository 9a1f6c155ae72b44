package ledger

import (
	"context"
	"fmt"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/golang-lru/v2/expirable"

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
// by path. It is safe for concurrent use; one listing of a key runs at a time.
type Cache struct {
	lru *expirable.LRU[string, *listing]
	mu  sync.Mutex
}

// listing is one folder's files, filled once; ready closes when it is.
type listing struct {
	ready chan struct{}
	files map[string]imagekit.File
	err   error
}

// New returns an empty Cache.
func New() *Cache {
	return &Cache{lru: expirable.NewLRU[string, *listing](cacheFolders, nil, cacheTTL)}
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
	c.mu.Lock()
	l, ok := c.lru.Get(key)
	if !ok {
		l = &listing{ready: make(chan struct{})}
		c.lru.Add(key, l)
		c.mu.Unlock()
		l.files, l.err = listFolder(ctx, ik, folder)
		close(l.ready)
		if l.err != nil {
			c.lru.Remove(key) // the next lookup asks again
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
