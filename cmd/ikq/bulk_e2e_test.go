package main

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestBulkReRunsUploadOnlyWhatChanged is the migration a user runs: one tree
// uploaded with bulk's defaults, then again unchanged, after touching every file,
// after Redis lost every record, and after one file changed. ImageKit (here the
// emulator) must end with one asset per file, and only the changed file is uploaded
// again. It sets the environment, so it does not run in parallel.
func TestBulkReRunsUploadOnlyWhatChanged(t *testing.T) {
	r := redistest.New(t)
	rdb := r.Client(t)
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	root := t.TempDir()
	w := startWorker(t, "--redis-url", r.URL(), "--imagekit-upload-url", emu+"/api/v1/files/upload", "--imagekit-api-url", emu, "--file-root", root)

	dir := filepath.Join(root, "tree")
	var files []string
	for _, folder := range []string{"2023", "2024/summer", "2024/winter", "misc"} {
		for i := range 6 {
			p := filepath.Join(dir, folder, fmt.Sprintf("img%d.png", i))
			writePNG(t, p)
			files = append(files, p)
		}
	}
	bulk := func(t *testing.T, step string) result {
		t.Helper()
		res := ikq(t, "bulk", "--redis-url", r.URL(), "--wait", "--wait-timeout", "2m", "--folder", "/mig", dir)
		if res.code != 0 {
			t.Fatalf("%s: ikq bulk exited %d\nstderr: %s\nworker: %s", step, res.code, res.stderr, w.stderr.String())
		}
		return res
	}
	assets := func(t *testing.T, step string) {
		t.Helper()
		got := emulatorFiles(t, emu, "/mig")
		if len(got) != len(files) {
			t.Fatalf("%s: the emulator holds %d assets under /mig, want one per file, %d", step, len(got), len(files))
		}
		seen := map[string]bool{}
		for _, f := range got {
			if seen[f.FilePath] {
				t.Fatalf("%s: two assets at %s", step, f.FilePath)
			}
			seen[f.FilePath] = true
		}
	}

	res := bulk(t, "first run")
	if want := fmt.Sprintf("of the completed: %d uploaded, 0 already", len(files)); !strings.Contains(res.stderr, want) {
		t.Errorf("first run: stderr does not say %q:\n%s", want, res.stderr)
	}
	assets(t, "first run")
	uploads := emulatorUploads(t, emu)
	if uploads != int64(len(files)) {
		t.Fatalf("first run: %d uploads, want %d", uploads, len(files))
	}

	unchanged := func(t *testing.T, step string) {
		t.Helper()
		res := bulk(t, step)
		if want := fmt.Sprintf("of the completed: 0 uploaded, %d already in ImageKit", len(files)); !strings.Contains(res.stderr, want) {
			t.Errorf("%s: stderr does not say %q:\n%s", step, want, res.stderr)
		}
		if n := emulatorUploads(t, emu); n != uploads {
			t.Errorf("%s: %d files uploaded again, want none", step, n-uploads)
		}
		assets(t, step)
	}
	unchanged(t, "the same tree again")

	later := time.Now().Add(time.Hour)
	for _, p := range files {
		if err := os.Chtimes(p, later, later); err != nil {
			t.Fatal(err)
		}
	}
	unchanged(t, "after touching every file")

	if err := rdb.FlushAll(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	unchanged(t, "after Redis lost every record")

	changed := files[7]
	writeBiggerPNG(t, changed)
	res = bulk(t, "after one file changed")
	if want := fmt.Sprintf("of the completed: 1 uploaded, %d already in ImageKit", len(files)-1); !strings.Contains(res.stderr, want) {
		t.Errorf("after one file changed: stderr does not say %q:\n%s", want, res.stderr)
	}
	if n := emulatorUploads(t, emu); n != uploads+1 {
		t.Errorf("after one file changed: %d uploads, want only the changed file's", n-uploads)
	}
	assets(t, "after one file changed")
	rel, _ := filepath.Rel(dir, changed)
	var version string
	for _, f := range emulatorFilesRaw(t, emu, "/mig") {
		if f.FilePath == "/mig/"+filepath.ToSlash(rel) {
			version = f.VersionInfo.Name
		}
	}
	if version != "Version 2" {
		t.Errorf("the changed file is in %q, want a second version of the same asset", version)
	}
}

// writeBiggerPNG replaces the image at p with a larger one: other bytes, other size.
func writeBiggerPNG(t *testing.T, p string) {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for x := range 40 {
		img.Set(x, x%30, color.RGBA{G: uint8(x * 6), A: 255})
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
