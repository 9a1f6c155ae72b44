package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/objstore/s3test"
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
	t.Setenv("IMAGEKIT_API_URL", emu)
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
		res := ikq(t, "bulk", "--redis-url", r.URL(), "--mode", "enqueue", "--wait", "--wait-timeout", "2m", "--folder", "/mig", dir)
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
		// Bulk found every file in place itself: each job was recorded completed with
		// the file and the skipped event, and no worker held it (no active event).
		store := jobstore.New(rdb, jobstore.Options{})
		lines := strings.Split(strings.TrimSpace(res.stdout), "\n")
		if len(lines) != len(files) {
			t.Fatalf("%s: %d stdout lines, want %d", step, len(lines), len(files))
		}
		for _, l := range lines {
			var item struct {
				ID, Status, FilePath string
				Skipped              bool
			}
			if err := json.Unmarshal([]byte(l), &item); err != nil {
				t.Fatalf("%s: stdout line %q: %v", step, l, err)
			}
			job, err := store.Get(t.Context(), item.ID)
			if err != nil {
				t.Fatalf("%s: job %s: %v", step, item.ID, err)
			}
			var states []string
			for _, e := range job.Events {
				states = append(states, string(e.State))
			}
			last := job.Events[len(job.Events)-1].Message
			want := "skipped: " + item.FilePath + " already exists with the same size"
			if job.Status != jobstore.StatusCompleted || !item.Skipped || last != want || job.FileID == "" ||
				strings.Join(states, ",") != "queued,completed" {
				t.Errorf("%s: job %s: status %s, skipped %v, fileId %q, events %v ending %q; want completed at once with %q",
					step, item.ID, job.Status, item.Skipped, job.FileID, states, last, want)
			}
		}
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

// writeTree writes n images in two folders under dir and returns their paths.
func writeTree(t *testing.T, dir string, n int) []string {
	t.Helper()
	var files []string
	for i := range n {
		p := filepath.Join(dir, []string{"a", "b/c"}[i%2], fmt.Sprintf("f%d.png", i))
		writePNG(t, p)
		files = append(files, p)
	}
	return files
}

// TestBulkLocal is a laptop whose folder the workers cannot read: bulk uploads from
// where it runs, on a queue of its own, and still records every job in Redis. It
// sets the environment, so it does not run in parallel.
func TestBulkLocal(t *testing.T) {
	r := redistest.New(t)
	rdb := r.Client(t)
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_UPLOAD_URL", emu+"/api/v1/files/upload")
	t.Setenv("IMAGEKIT_API_URL", emu)
	t.Setenv("IKQ_FILE_ROOT", "")
	// A worker elsewhere, which cannot read the laptop's folder.
	w := startWorker(t, "--redis-url", r.URL(), "--imagekit-upload-url", emu+"/api/v1/files/upload", "--imagekit-api-url", emu, "--file-root", t.TempDir())
	dir := t.TempDir()
	files := writeTree(t, dir, 6)

	resultsFile := filepath.Join(t.TempDir(), "results.csv")
	res := ikq(t, "bulk", "--redis-url", r.URL(), "--folder", "/laptop", "--run", "laptop-1", "--concurrency", "3", "--results", resultsFile, dir)
	if res.code != 0 {
		t.Fatalf("ikq bulk exited %d\nstderr: %s", res.code, res.stderr)
	}
	for _, want := range []string{
		"run laptop-1: uploading from this machine with 3 upload slots",
		"on queue bulk:laptop-1, which only this run serves",
		"6 jobs: 6 completed, 0 failed",
		"of the completed: 6 uploaded",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	if got := emulatorFiles(t, emu, "/laptop"); len(got) != len(files) {
		t.Errorf("the emulator holds %d files under /laptop, want %d", len(got), len(files))
	}
	// Every job is recorded in the shared Redis, on the run's own queue.
	items := res.items(t)
	for _, it := range items {
		job, err := jobstore.New(rdb, jobstore.Options{}).Get(t.Context(), it.ID)
		if err != nil || job.Queue != "bulk:laptop-1" || job.Status != jobstore.StatusCompleted {
			t.Errorf("job of %s: %v %+v, want completed on queue bulk:laptop-1", it.Path, err, job)
		}
	}
	if len(items) != len(files) {
		t.Errorf("stdout has %d items, want %d", len(items), len(files))
	}
	// --results has every item, with where it landed.
	rf, err := os.Open(resultsFile)
	if err != nil {
		t.Fatal(err)
	}
	defer rf.Close()
	rows, err := csv.NewReader(rf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(files)+1 || strings.Join(rows[0], ",") != "source,status,jobId,fileId,filePath,url,size,attempts,skipped,error" {
		t.Fatalf("results: %q, want a header and %d rows", rows, len(files))
	}
	for _, row := range rows[1:] {
		rel, _ := filepath.Rel(dir, row[0])
		if row[1] != "completed" || row[3] == "" || row[4] != "/laptop/"+filepath.ToSlash(rel) || !strings.HasPrefix(row[5], "http") || row[6] == "" || row[7] != "1" || row[9] != "" {
			t.Errorf("results row %q: want completed with its file id, path under /laptop, url, size and 1 attempt", row)
		}
	}
	if strings.Contains(w.stderr.String(), "/laptop/") {
		t.Errorf("the remote worker touched the laptop's jobs:\n%s", w.stderr.String())
	}
}

// TestBulkWithoutRedis: nothing but a private key. The run uses an embedded Redis,
// keeps its state in a local file, and a re-run goes on as the same run and uploads
// nothing already there. It sets the environment, so it does not run in parallel.
func TestBulkWithoutRedis(t *testing.T) {
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_UPLOAD_URL", emu+"/api/v1/files/upload")
	t.Setenv("IMAGEKIT_API_URL", emu)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("HOME", t.TempDir())
	dir := t.TempDir()
	files := writeTree(t, dir, 4)

	// A wrong REDIS_URL is one sentence naming it and what to do.
	bad := ikq(t, "bulk", "--redis-url", "redis://127.0.0.1:1/0", dir)
	if bad.code != 1 || strings.Count(strings.TrimSpace(bad.stderr), "\n") != 0 ||
		!strings.Contains(bad.stderr, "cannot reach Redis at redis://127.0.0.1:1/0") || !strings.Contains(bad.stderr, "-mode embedded") {
		t.Errorf("an unreachable -redis-url: exit %d, stderr %q; want 1 and one line naming it and the way out", bad.code, bad.stderr)
	}

	statePath, err := statePath(dir, "/offline")
	if err != nil {
		t.Fatal(err)
	}
	// An earlier run that did not finish.
	if err := writeState(statePath, &embeddedState{Run: "offline-1", Source: dir, Folder: "/offline"}); err != nil {
		t.Fatal(err)
	}
	res := ikq(t, "bulk", "--mode", "embedded", "--folder", "/offline", dir)
	if res.code != 0 {
		t.Fatalf("ikq bulk --mode embedded exited %d\nstderr: %s", res.code, res.stderr)
	}
	for _, want := range []string{
		"going on with run offline-1, which did not finish",
		"run offline-1: no Redis",
		"of the completed: 4 uploaded",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	st, err := readState(statePath)
	if err != nil || st == nil || !st.Done || st.Run != "offline-1" {
		t.Errorf("state after the run: %+v, %v; want run offline-1, done", st, err)
	}
	uploads := emulatorUploads(t, emu)
	again := ikq(t, "bulk", "--mode", "embedded", "--folder", "/offline", dir)
	if again.code != 0 || !strings.Contains(again.stderr, fmt.Sprintf("of the completed: 0 uploaded, %d already in ImageKit", len(files))) {
		t.Errorf("again: exit %d, stderr:\n%s\nwant nothing uploaded", again.code, again.stderr)
	}
	if strings.Contains(again.stderr, "going on with run") {
		t.Errorf("a finished run was taken up again:\n%s", again.stderr)
	}
	if n := emulatorUploads(t, emu); n != uploads {
		t.Errorf("the run again uploaded %d files", n-uploads)
	}
	if got := emulatorFiles(t, emu, "/offline"); len(got) != len(files) {
		t.Errorf("the emulator holds %d files under /offline, want %d", len(got), len(files))
	}
}

// TestBulkBucket moves a bucket prefix: one job per object, which the worker reads
// from the S3 test server; a re-run uploads nothing; -include and -exclude filter.
// It sets the environment, so it does not run in parallel.
func TestBulkBucket(t *testing.T) {
	srv := s3test.Start(t)
	srv.CreateBucket(t, "media")
	var img bytes.Buffer
	if err := png.Encode(&img, image.NewRGBA(image.Rect(0, 0, 3, 3))); err != nil {
		t.Fatal(err)
	}
	keys := []string{"shop/a.png", "shop/b.png", "shop/2024/c.png", "shop/2024/d e.png", "shop/notes.txt", "other/x.png"}
	for _, k := range keys {
		srv.Put(t, "media", k, img.Bytes(), "")
	}
	t.Setenv("IKQ_S3_ENDPOINT", srv.Endpoint)
	t.Setenv("AWS_ACCESS_KEY_ID", srv.AccessKey)
	t.Setenv("AWS_SECRET_ACCESS_KEY", srv.SecretKey)
	t.Setenv("AWS_REGION", srv.Region)
	r := redistest.New(t)
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_API_URL", emu)
	w := startWorker(t, "--redis-url", r.URL(), "--imagekit-upload-url", emu+"/api/v1/files/upload", "--imagekit-api-url", emu)
	bulk := func(t *testing.T) result {
		t.Helper()
		res := ikq(t, "bulk", "--redis-url", r.URL(), "--wait", "--wait-timeout", "2m", "--folder", "/from-s3",
			"--exclude", "*.txt", "s3://media/shop/")
		if res.code != 0 {
			t.Fatalf("ikq bulk exited %d\nstderr: %s\nworker: %s", res.code, res.stderr, w.stderr.String())
		}
		return res
	}
	res := bulk(t)
	for _, want := range []string{
		"enqueue only: workers read each object from the bucket",
		"4 jobs: 4 enqueued, 0 already enqueued, 0 invalid, 1 excluded by -include/-exclude",
		"of the completed: 4 uploaded",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	var got []string
	for _, f := range emulatorFiles(t, emu, "/from-s3") {
		got = append(got, f.FilePath)
	}
	want := []string{"/from-s3/2024/c.png", "/from-s3/2024/d_e.png", "/from-s3/a.png", "/from-s3/b.png"}
	if !slices.Equal(got, want) {
		t.Errorf("the emulator holds %q, want %q", got, want)
	}
	uploads := emulatorUploads(t, emu)
	again := bulk(t)
	if !strings.Contains(again.stderr, "of the completed: 0 uploaded, 4 already in ImageKit") || emulatorUploads(t, emu) != uploads {
		t.Errorf("the prefix again uploaded %d files:\n%s", emulatorUploads(t, emu)-uploads, again.stderr)
	}

	dry := ikq(t, "bulk", "--dry-run", "--include", "2024/**", "s3://media/shop/")
	if dry.code != 0 || !strings.Contains(dry.stderr, "2 would be enqueued, 0 invalid, 3 excluded") {
		t.Errorf("--include 2024/** --dry-run: exit %d, stderr:\n%s", dry.code, dry.stderr)
	}
}

// TestBulkDryRunPreflight: a dry run says what ImageKit would refuse and what it
// holds already, and a wrong private key stops a run before anything is enqueued.
// It sets the environment, so it does not run in parallel.
func TestBulkDryRunPreflight(t *testing.T) {
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_API_URL", emu)
	t.Setenv("IMAGEKIT_UPLOAD_URL", emu+"/api/v1/files/upload")
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "same.png"))
	writePNG(t, filepath.Join(dir, "other.png"))
	writePNG(t, filepath.Join(dir, "new.png"))
	writeFile(t, filepath.Join(dir, "empty.png"), "")
	writeFile(t, filepath.Join(dir, "notes.qqq"), "plain text of no known type")
	writeBiggerPNG(t, filepath.Join(dir, "big.png"))
	// What the media library holds: same.png as it is, other.png in another size.
	first := ikq(t, "bulk", "--mode", "embedded", "--folder", "/pre", "--include", "{same,other}.png", dir)
	if first.code != 0 {
		t.Fatalf("uploading two files first: exit %d\n%s", first.code, first.stderr)
	}
	writeBiggerPNG(t, filepath.Join(dir, "other.png"))

	small, err := os.Stat(filepath.Join(dir, "same.png"))
	if err != nil {
		t.Fatal(err)
	}
	limit := small.Size() + 1 // the bigger images are over it
	res := ikq(t, "bulk", "--dry-run", "--folder", "/pre", "--max-file-size", fmt.Sprintf("%dB", limit), dir)
	if res.code != 0 {
		t.Fatalf("--dry-run exited %d:\n%s", res.code, res.stderr)
	}
	for _, want := range []string{
		"ImageKit would refuse 4 files:",
		"1× empty file (" + filepath.Join(dir, "empty.png") + ")",
		"1× file type not allowed (" + filepath.Join(dir, "notes.qqq") + ")",
		fmt.Sprintf("2× over the size limit (%d bytes) (%s, %s)", limit, filepath.Join(dir, "big.png"), filepath.Join(dir, "other.png")),
		"already in ImageKit: 1 with the same size (would be skipped), 0 with another size",
	} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("--dry-run stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	if n := emulatorUploads(t, emu); n != 2 {
		t.Errorf("the dry run uploaded: %d uploads in all, want the first 2", n)
	}

	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_wrong")
	bad := ikq(t, "bulk", "--mode", "embedded", dir)
	if bad.code != 1 || !strings.Contains(bad.stderr, "ImageKit refused the private key") || strings.Contains(bad.stderr, "private_wrong") {
		t.Errorf("a wrong key: exit %d, stderr %q; want 1, the key refused, and the key itself never printed", bad.code, bad.stderr)
	}
}

// TestBulkWarnsWithoutWorker: jobs enqueued where no worker serves their queue get a
// warning rather than silence.
func TestBulkWarnsWithoutWorker(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"))
	res := ikq(t, "bulk", "--redis-url", r.URL(), "--mode", "enqueue", "--queue", "low", dir)
	if res.code != 0 || !strings.Contains(res.stderr, "no worker serves the low queue on this Redis") {
		t.Errorf("exit %d, stderr:\n%s\nwant a warning that no worker serves the low queue", res.code, res.stderr)
	}
}

// TestBulkWithIkqDev is a newcomer's first bulk: `ikq dev` in one terminal, then
// `ikq bulk DIR` with nothing set. Bulk finds dev's Redis and emulator through the
// file dev writes, and uploads from where it runs. It sets the environment, so it
// does not run in parallel.
func TestBulkWithIkqDev(t *testing.T) {
	r := redistest.New(t)
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("REDIS_URL", r.URL())
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "")
	t.Setenv("IKQ_FILE_ROOT", "")
	ctx, cancel := context.WithCancel(t.Context())
	devErr := &ikqtest.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--listen", "127.0.0.1:0", "--emulator-listen", "127.0.0.1:0"}, io.Discard, devErr)
	}()
	defer func() {
		cancel()
		<-done
		if _, err := os.Stat(devFilePath()); !os.IsNotExist(err) {
			t.Errorf("ikq dev left its file behind: %v", err)
		}
	}()
	var dev *devFile
	for deadline := time.Now().Add(30 * time.Second); dev == nil; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("ikq dev wrote no %s:\n%s", devFilePath(), devErr.String())
		}
		dev = readDevFile()
	}
	if dev.EmulatorURL == "" || dev.RedisURL != r.URL() {
		t.Fatalf("dev file %+v, want its Redis and emulator", dev)
	}

	dir := t.TempDir()
	files := writeTree(t, dir, 4)
	res := ikq(t, "bulk", "--folder", "/first", dir)
	if res.code != 0 {
		t.Fatalf("ikq bulk exited %d\nstderr: %s\ndev: %s", res.code, res.stderr, devErr.String())
	}
	for _, want := range []string{"uploading from this machine", "uploading to ikq dev's emulator at " + dev.EmulatorURL, "of the completed: 4 uploaded"} {
		if !strings.Contains(res.stderr, want) {
			t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
		}
	}
	if got := emulatorFilesAs(t, dev.EmulatorURL, dev.PrivateKey, "/first"); got != len(files) {
		t.Errorf("dev's emulator holds %d files under /first, want %d", got, len(files))
	}
}

// emulatorFilesAs counts the files under folder, subfolders included, of an emulator
// with key key.
func emulatorFilesAs(t *testing.T, emu, key, folder string) int {
	t.Helper()
	q := fmt.Sprintf(`type = "file" AND path : %q`, folder)
	req, err := http.NewRequest(http.MethodGet, emu+"/v1/files?searchQuery="+neturl.QueryEscape(q), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(key, "")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var files []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&files); err != nil {
		t.Fatal(err)
	}
	return len(files)
}
