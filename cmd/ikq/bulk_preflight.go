package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path"
	"time"

	"github.com/ikq-dev/ikq/internal/bulk"
	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/redisurl"
)

// imagekitTarget is where bulk's own calls, and its uploads from this machine, go.
type imagekitTarget struct {
	key, uploadURL, apiURL string
	dev                    bool // the emulator of a running ikq dev
}

// resolveTarget is IMAGEKIT_PRIVATE_KEY with IMAGEKIT_UPLOAD_URL and
// IMAGEKIT_API_URL; without a key, the emulator of a running ikq dev whose Redis is
// redisURL, so that a newcomer's `ikq dev` and `ikq bulk DIR` work together.
func resolveTarget(redisURL string) imagekitTarget {
	if key := os.Getenv("IMAGEKIT_PRIVATE_KEY"); key != "" {
		return imagekitTarget{key: key, uploadURL: envOr("IMAGEKIT_UPLOAD_URL", defaultUploadURL),
			apiURL: envOr("IMAGEKIT_API_URL", imagekit.DefaultAPIBase)}
	}
	d := readDevFile()
	if d == nil || d.EmulatorURL == "" || d.PrivateKey == "" {
		return imagekitTarget{}
	}
	want, err1 := redisurl.Parse(redisURL)
	got, err2 := redisurl.Parse(d.RedisURL)
	if err1 != nil || err2 != nil || want.String() != got.String() {
		return imagekitTarget{}
	}
	return imagekitTarget{key: d.PrivateKey, uploadURL: d.EmulatorURL + "/api/v1/files/upload", apiURL: d.EmulatorURL, dev: true}
}

// client is the files API client of bulk's own checks, or nil without a key.
func (t imagekitTarget) client() *imagekit.Client {
	if t.key == "" {
		return nil
	}
	return &imagekit.Client{UploadURL: t.uploadURL, APIBase: t.apiURL, PrivateKey: t.key, HTTPClient: &http.Client{Timeout: time.Minute}}
}

// checkKey makes one cheap authenticated call, so that a wrong private key stops
// the run before anything is enqueued. Other failures only warn: workers may reach
// ImageKit where this machine cannot.
func checkKey(ctx context.Context, ik *imagekit.Client) (warning string, err error) {
	_, err = ik.ListFiles(ctx, imagekit.ListParams{Path: "/", Limit: 1})
	var ikErr *imagekit.Error
	switch {
	case err == nil:
		return "", nil
	case errors.As(err, &ikErr) && (ikErr.Status == http.StatusUnauthorized || ikErr.Status == http.StatusForbidden):
		return "", fmt.Errorf("ImageKit refused the private key (HTTP %d: %s): check IMAGEKIT_PRIVATE_KEY; nothing was enqueued", ikErr.Status, ikErr.Message)
	case ctx.Err() != nil:
		return "", ctx.Err()
	}
	return fmt.Sprintf("could not check the private key with ImageKit (%v)", err), nil
}

// bulkPreflight is what a dry run checks: the emulator's type rules, which follow
// ImageKit's, and, with a key, what the media library holds.
func bulkPreflight(ik *imagekit.Client) *bulk.Preflight {
	p := &bulk.Preflight{Detect: emulator.AcceptsType, IsVideo: emulator.IsVideo}
	if ik != nil {
		p.Files = folderLister{ik}
	}
	return p
}

// folderLister lists a folder of the media library through the files API.
type folderLister struct{ ik *imagekit.Client }

// ListFolder returns path → size of the files directly in folder. The API's path
// filter also matches subfolders; those are dropped here.
func (l folderLister) ListFolder(ctx context.Context, folder string) (map[string]int64, error) {
	const page = 1000
	out := map[string]int64{}
	for skip := 0; ; skip += page {
		files, err := l.ik.ListFiles(ctx, imagekit.ListParams{Path: folder, Limit: page, Skip: skip})
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			if f.FileID != "" && path.Dir(f.FilePath) == folder {
				out[f.FilePath] = f.Size
			}
		}
		if len(files) < page {
			return out, nil
		}
	}
}
