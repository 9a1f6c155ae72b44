package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/tasks"
)

// writePNG writes a small PNG image at p, creating its folders.
func writePNG(t *testing.T, p string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	img := image.NewRGBA(image.Rect(0, 0, 4, 3))
	img.Set(1, 1, color.RGBA{R: uint8(len(p)), A: 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// itemLine is an item's JSON line on stdout.
type itemLine struct {
	Line            int    `json:"line,omitempty"`
	Path            string `json:"path,omitempty"`
	ID              string `json:"id,omitempty"`
	Status          string `json:"status"`
	AlreadyEnqueued bool   `json:"alreadyEnqueued,omitempty"`
	Skipped         bool   `json:"skipped,omitempty"`
	FilePath        string `json:"filePath,omitempty"`
	URL             string `json:"url,omitempty"`
	Error           string `json:"error,omitempty"`
}

// sortedByPath orders a folder's items by path, then line: stdout has them as each
// one's outcome is known.
func sortedByPath(items []itemLine) []itemLine {
	sort.SliceStable(items, func(i, j int) bool {
		if items[i].Path != items[j].Path {
			return items[i].Path < items[j].Path
		}
		return items[i].Line < items[j].Line
	})
	return items
}

// emulatorUploads is how many uploads the emulator has taken.
func emulatorUploads(t *testing.T, emu string) int64 {
	t.Helper()
	var st struct {
		Uploads int64 `json:"uploads"`
	}
	emulatorAPI(t, http.MethodGet, emu+"/_emulator/stats", nil, &st)
	return st.Uploads
}

// items reads the JSON lines a bulk run printed on stdout.
func (r result) items(t *testing.T) []itemLine {
	t.Helper()
	var out []itemLine
	for _, line := range strings.Split(strings.TrimSpace(r.stdout), "\n") {
		if line == "" {
			continue
		}
		var l itemLine
		dec := json.NewDecoder(strings.NewReader(line))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&l); err != nil {
			t.Fatalf("stdout line %q: %v\nstdout: %s\nstderr: %s", line, err, r.stdout, r.stderr)
		}
		out = append(out, l)
	}
	return out
}

// emulatorFile is what the emulator's files API says of a file.
type emulatorFile struct {
	FilePath       string         `json:"filePath"`
	Tags           []string       `json:"tags"`
	CustomMetadata map[string]any `json:"customMetadata"`
}

// emulatorFiles lists the files the emulator holds under folder, subfolders
// included (searchQuery's path : operator; the path parameter is one level).
func emulatorFiles(t *testing.T, emu, folder string) []emulatorFile {
	t.Helper()
	var files []emulatorFile
	q := fmt.Sprintf(`type = "file" AND path : %q`, folder)
	emulatorAPI(t, http.MethodGet, emu+"/v1/files?searchQuery="+neturl.QueryEscape(q), nil, &files)
	sort.Slice(files, func(i, j int) bool { return files[i].FilePath < files[j].FilePath })
	return files
}

// emulatorFilesRaw lists the files under folder, subfolders included, with their versions.
func emulatorFilesRaw(t *testing.T, emu, folder string) []struct {
	FilePath    string `json:"filePath"`
	VersionInfo struct {
		Name string `json:"name"`
	} `json:"versionInfo"`
} {
	t.Helper()
	var files []struct {
		FilePath    string `json:"filePath"`
		VersionInfo struct {
			Name string `json:"name"`
		} `json:"versionInfo"`
	}
	q := fmt.Sprintf(`type = "file" AND path : %q`, folder)
	emulatorAPI(t, http.MethodGet, emu+"/v1/files?searchQuery="+neturl.QueryEscape(q), nil, &files)
	return files
}

// emulatorAPI calls the emulator's private API.
func emulatorAPI(t *testing.T, method, url string, body, out any) {
	t.Helper()
	var b []byte
	if body != nil {
		b, _ = json.Marshal(body)
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("private_test", "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s", method, url, resp.Status)
	}
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("%s %s: %v", method, url, err)
		}
	}
}

// countJobs is how many job records the Redis holds.
func countJobs(t *testing.T, rdb redis.UniversalClient) int {
	t.Helper()
	jobs, _, err := jobstore.New(rdb, jobstore.Options{}).List(t.Context(), jobstore.ListOptions{Limit: jobstore.MaxListLimit})
	if err != nil {
		t.Fatal(err)
	}
	return len(jobs)
}

// request is the job spec a stored job records.
func request(t *testing.T, rdb redis.UniversalClient, id string) tasks.Upload {
	t.Helper()
	job, err := jobstore.New(rdb, jobstore.Options{}).Get(t.Context(), id)
	if err != nil {
		t.Fatalf("job %s: %v", id, err)
	}
	var u tasks.Upload
	if err := json.Unmarshal(job.Request, &u); err != nil {
		t.Fatalf("job %s request %s: %v", id, job.Request, err)
	}
	return u
}

// TestBulk runs ikq bulk as a user would, against Redis, the emulator and a worker.
// It sets the environment, so it does not run in parallel.
func TestBulk(t *testing.T) {
	r := redistest.New(t)
	redisURL := r.URL()
	rdb := r.Client(t)
	emu := startEmulator(t)
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "private_test")
	t.Setenv("IMAGEKIT_API_URL", emu)
	root := t.TempDir()
	w := startWorker(t, "--redis-url", redisURL, "--imagekit-upload-url", emu+"/api/v1/files/upload", "--imagekit-api-url", emu, "--file-root", root)
	sample := emu + "/_emulator/sample.jpg"
	bulk := func(t *testing.T, args ...string) result {
		t.Helper()
		return ikq(t, append([]string{"bulk", "--redis-url", redisURL, "--mode", "enqueue"}, args...)...)
	}

	t.Run("dir", func(t *testing.T) {
		dir := filepath.Join(root, "photos")
		for _, f := range []string{"a.png", "sub/b.png", "sub/deeper/c.png", ".hidden/d.png"} {
			writePNG(t, filepath.Join(dir, f))
		}
		writeFile(t, filepath.Join(dir, ".x"), "hidden")
		outside := filepath.Join(t.TempDir(), "outside.png")
		writePNG(t, outside)
		if err := os.Symlink(outside, filepath.Join(dir, "out.png")); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join(dir, "sub"), filepath.Join(dir, "loop")); err != nil {
			t.Fatal(err)
		}

		res := bulk(t, "--folder", "/imports", "--wait", "--wait-timeout", "2m", "--run", "first", dir)
		if res.code != 0 {
			t.Fatalf("ikq bulk --wait exited %d, want 0\nstdout: %s\nstderr: %s\nworker: %s", res.code, res.stdout, res.stderr, w.stderr.String())
		}
		if strings.Contains(res.stderr, "no worker serves") {
			t.Errorf("a warning that no worker serves the queue, with one running:\n%s", res.stderr)
		}
		for _, want := range []string{
			"ikq bulk: run first: enqueue only",
			"IKQ_FILE_ROOT=" + dir,
			"skipped " + filepath.Join(dir, "out.png") + ": a symlink that leads outside",
			"3 jobs: 3 enqueued, 0 already enqueued, 0 invalid",
			"3 jobs: 3 completed, 0 failed, 0 canceled, 0 invalid",
			"of the completed: 3 uploaded, 0 already in ImageKit",
		} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
			}
		}
		items := sortedByPath(res.items(t))
		var paths []string
		for _, it := range items {
			paths = append(paths, it.Path)
			if it.Status != "completed" || it.ID == "" || !strings.HasPrefix(it.URL, "http") || it.Skipped {
				t.Errorf("stdout item %+v, want completed and uploaded, with an id and a url", it)
			}
		}
		wantPaths := []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "sub/b.png"), filepath.Join(dir, "sub/deeper/c.png")}
		if !slices.Equal(paths, wantPaths) {
			t.Errorf("stdout paths %q, want %q", paths, wantPaths)
		}
		checkFiles := func() {
			t.Helper()
			var got []string
			for _, f := range emulatorFiles(t, emu, "/imports") {
				got = append(got, f.FilePath)
			}
			// Names are kept: the destination is the source's path under the folder.
			if want := []string{"/imports/a.png", "/imports/sub/b.png", "/imports/sub/deeper/c.png"}; !slices.Equal(got, want) {
				t.Fatalf("the emulator holds %q under /imports, want %q", got, want)
			}
		}
		checkFiles()

		// The same run again: every job comes back, none is made.
		before := countJobs(t, rdb)
		again := bulk(t, "--folder", "/imports", "--run", "first", dir)
		if again.code != 0 || !strings.Contains(again.stderr, "3 jobs: 0 enqueued, 3 already enqueued, 0 invalid") {
			t.Fatalf("the same run again: exit %d, stderr:\n%s\nwant 0 and 3 already enqueued", again.code, again.stderr)
		}
		for i, it := range sortedByPath(again.items(t)) {
			if it.ID != items[i].ID || !it.AlreadyEnqueued || it.Status != "completed" {
				t.Errorf("again, item %d is %+v; want job %s, already enqueued and completed", i, it, items[i].ID)
			}
		}
		if n := countJobs(t, rdb); n != before {
			t.Errorf("the same run again made %d jobs", n-before)
		}

		// A new run, after touching every file: new jobs, which find their files in
		// place and upload nothing.
		later := time.Now().Add(time.Hour)
		for _, p := range wantPaths {
			if err := os.Chtimes(p, later, later); err != nil {
				t.Fatal(err)
			}
		}
		uploads := emulatorUploads(t, emu)
		touched := bulk(t, "--folder", "/imports", "--wait", "--wait-timeout", "2m", "--run", "touched", dir)
		if touched.code != 0 || !strings.Contains(touched.stderr, "of the completed: 0 uploaded, 3 already in ImageKit") {
			t.Errorf("after touching the files: exit %d, stderr:\n%s\nwant 3 already in ImageKit", touched.code, touched.stderr)
		}
		for _, it := range touched.items(t) {
			if !it.Skipped || it.Status != "completed" || it.FilePath == "" {
				t.Errorf("after touching: item %+v, want completed, skipped, with its file", it)
			}
		}
		if n := emulatorUploads(t, emu); n != uploads {
			t.Errorf("a run after touching the files uploaded %d files", n-uploads)
		}
		checkFiles()

		// A dry run enqueues nothing, needs no Redis, and prints the specs a run of
		// the same id enqueues.
		dry := ikq(t, "bulk", "--redis-url", "redis://127.0.0.1:1/0", "--folder", "/imports", "--run", "touched", "--dry-run", dir)
		if dry.code != 0 {
			t.Fatalf("--dry-run exited %d:\n%s", dry.code, dry.stderr)
		}
		specs := strings.Split(strings.TrimSpace(dry.stdout), "\n")
		if len(specs) != 3 || !strings.Contains(dry.stderr, "3 would be enqueued") {
			t.Fatalf("--dry-run printed %d specs, want 3:\n%s\n%s", len(specs), dry.stdout, dry.stderr)
		}
		byPath := map[string]string{}
		for _, it := range touched.items(t) {
			byPath[it.Path] = it.ID
		}
		for i, line := range specs {
			u, err := tasks.Decode([]byte(line))
			if err != nil {
				t.Fatalf("--dry-run line %q: %v", line, err)
			}
			stored := request(t, rdb, byPath[wantPaths[i]])
			if u.IdempotencyKey != stored.IdempotencyKey || !strings.HasPrefix(u.IdempotencyKey, "bulk:") ||
				u.File != "file://"+filepath.ToSlash(wantPaths[i]) || u.Folder != stored.Folder ||
				u.Run != "touched" || u.IfExists != "skip" || u.UseUniqueFileName == nil || *u.UseUniqueFileName {
				t.Errorf("--dry-run spec %s, want the job enqueued: %+v", line, stored)
			}
		}
	})

	t.Run("jsonl", func(t *testing.T) {
		manifest := filepath.Join(t.TempDir(), "jobs.jsonl")
		writeFile(t, manifest, fmt.Sprintf(`{"file":%q,"fileName":"j1.jpg","folder":"/jsonl"}
{"file":%q,"fileName":"j2.jpg","folder":"/jsonl","tags":["x"]}
{"file":%q,"fileName":"j3.jpg","folder":"/jsonl","queue":"low"}
{"file":%q,"fileName":"j4.jpg","colour":"red"}
`, sample, sample, sample, sample))
		before := countJobs(t, rdb)

		strict := bulk(t, "--strict", manifest)
		if strict.code != 1 || strict.stdout != "" || !strings.Contains(strict.stderr, "line 4: colour: unknown field") ||
			!strings.Contains(strict.stderr, "nothing enqueued") {
			t.Errorf("--strict with a bad line: exit %d, stdout %q, stderr:\n%s\nwant 1, nothing, and line 4 named", strict.code, strict.stdout, strict.stderr)
		}
		if n := countJobs(t, rdb); n != before {
			t.Fatalf("--strict with a bad line enqueued %d jobs", n-before)
		}

		res := bulk(t, "--tags", "bulk", "--max-attempts", "3", manifest)
		if res.code != 1 {
			t.Errorf("a manifest with a bad line exited %d, want 1", res.code)
		}
		for _, want := range []string{"line 4: colour: unknown field", "4 jobs: 3 enqueued, 0 already enqueued, 1 invalid"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
			}
		}
		items := sortedByPath(res.items(t))
		if len(items) != 4 {
			t.Fatalf("stdout has %d items, want 4:\n%s", len(items), res.stdout)
		}
		for i, it := range items[:3] {
			if it.Line != i+1 || it.ID == "" || it.Status != "queued" {
				t.Errorf("item %d: %+v, want line %d queued", i, it, i+1)
			}
		}
		if it := items[3]; it.Line != 4 || it.Status != "invalid" || !strings.Contains(it.Error, "colour") {
			t.Errorf("item 4: %+v, want line 4 invalid, naming colour", it)
		}
		if n := countJobs(t, rdb); n != before+3 {
			t.Errorf("%d jobs enqueued, want 3", n-before)
		}
		u := request(t, rdb, items[1].ID)
		if !slices.Equal(u.Tags, []string{"x", "bulk"}) || u.MaxAttempts != 3 || !strings.HasPrefix(u.IdempotencyKey, "bulk:") {
			t.Errorf("line 2's job: tags %q, maxAttempts %d, key %q; want [x bulk], 3, a bulk: key", u.Tags, u.MaxAttempts, u.IdempotencyKey)
		}
		if u := request(t, rdb, items[2].ID); u.Queue != "low" {
			t.Errorf("line 3's job: queue %q, want its own, low", u.Queue)
		}
	})

	t.Run("csv", func(t *testing.T) {
		emulatorAPI(t, http.MethodPost, emu+"/v1/customMetadataFields",
			map[string]any{"name": "brand", "label": "Brand", "schema": map[string]any{"type": "Text"}}, nil)
		manifest := filepath.Join(t.TempDir(), "jobs.csv")
		writeFile(t, manifest, "file,fileName,tags,folder,customMetadata\n"+
			sample+`,c1.jpg,"summer,sale",/csv,"{""brand"":""Nike""}"`+"\n"+
			sample+",c2.jpg,,/csv/more,\n")
		res := bulk(t, "--wait", "--wait-timeout", "2m", "--tags", "bulk", manifest)
		if res.code != 0 {
			t.Fatalf("exit %d, want 0\nstdout: %s\nstderr: %s", res.code, res.stdout, res.stderr)
		}
		items := sortedByPath(res.items(t))
		if len(items) != 2 || items[0].Status != "completed" || items[1].Status != "completed" {
			t.Fatalf("stdout %s, want 2 completed jobs", res.stdout)
		}
		u := request(t, rdb, items[0].ID)
		if u.FileName != "c1.jpg" || u.Folder != "/csv" || !slices.Equal(u.Tags, []string{"summer", "sale", "bulk"}) ||
			u.CustomMetadata["brand"] != "Nike" || len(u.CustomMetadata) != 1 {
			t.Errorf("row 1's job: %+v", u)
		}
		u = request(t, rdb, items[1].ID)
		if u.FileName != "c2.jpg" || u.Folder != "/csv/more" || !slices.Equal(u.Tags, []string{"bulk"}) || u.CustomMetadata != nil {
			t.Errorf("row 2's job: %+v", u)
		}
		files := emulatorFiles(t, emu, "/csv")
		if len(files) != 2 || files[0].CustomMetadata["brand"] != "Nike" {
			t.Errorf("the emulator holds %+v, want c1 with brand Nike, and c2", files)
		}
	})

	t.Run("wait with a failure", func(t *testing.T) {
		manifest := filepath.Join(t.TempDir(), "jobs.ndjson")
		writeFile(t, manifest, fmt.Sprintf(`{"file":%q,"fileName":"ok.jpg","folder":"/failing"}
{"file":%q,"fileName":"big.jpg","folder":"/failing","checks":"\"file.size\" > \"1gb\""}
`, sample, sample))
		res := bulk(t, "--wait", "--wait-timeout", "2m", manifest)
		const msg = "Your request failed 'checks' validation."
		if res.code != 1 {
			t.Errorf("exit %d, want 1\nstderr: %s", res.code, res.stderr)
		}
		for _, want := range []string{"line 2: " + msg, "2 jobs: 1 completed, 1 failed, 0 canceled, 0 invalid"} {
			if !strings.Contains(res.stderr, want) {
				t.Errorf("stderr does not say %q:\n%s", want, res.stderr)
			}
		}
		items := sortedByPath(res.items(t))
		if len(items) != 2 || items[0].Status != "completed" || items[1].Status != "failed" || items[1].Error != msg || items[1].URL != "" {
			t.Errorf("stdout %s, want line 1 completed and line 2 failed with %q", res.stdout, msg)
		}
	})

	t.Run("stdin", func(t *testing.T) {
		in := fmt.Sprintf(`{"file":%q,"fileName":"in.jpg","folder":"/stdin"}`+"\n", sample)
		var stdout, stderr bytes.Buffer
		err := bulkFrom(t.Context(), []string{"--redis-url", redisURL, "--format", "jsonl", "-"}, strings.NewReader(in), &stdout, &stderr)
		if err != nil || !strings.Contains(stderr.String(), "1 job: 1 enqueued") {
			t.Fatalf("bulk - : %v\nstderr: %s", err, stderr.String())
		}
		r := result{stdout: stdout.String()}
		if items := r.items(t); len(items) != 1 || items[0].Line != 1 || items[0].ID == "" {
			t.Errorf("stdout %s, want line 1 enqueued", stdout.String())
		}
	})
}

// TestBulkBadUsage: mistakes exit 2, say what is wrong, and touch no Redis (the URL
// points at no server: a command that tried to connect would fail another way).
func TestBulkBadUsage(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "jobs.txt"), "{}\n")
	writeFile(t, filepath.Join(dir, "jobs.csv"), "file,file-name\nx,y\n")
	writeFile(t, filepath.Join(dir, "jobs.jsonl"), "{}\n")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "usage: ikq bulk"},
		{[]string{dir, dir}, "unexpected argument"},
		{[]string{filepath.Join(dir, "missing")}, "cannot read"},
		{[]string{filepath.Join(dir, "jobs.txt")}, "cannot tell the format"},
		{[]string{"--format", "xml", filepath.Join(dir, "jobs.txt")}, "-format"},
		{[]string{"--format", "csv", dir}, "is a directory"},
		{[]string{"-"}, "needs -format"},
		{[]string{filepath.Join(dir, "jobs.csv")}, `did you mean "fileName"`},
		{[]string{"--queue", "urgent", dir}, "queue"},
		{[]string{"--folder", "/a b", dir}, "folder"},
		{[]string{"--use-unique-file-name", "maybe", dir}, "use-unique-file-name"},
		{[]string{"--concurrency", "0", dir}, "-concurrency"},
		{[]string{"--no-such-flag", dir}, "no-such-flag"},
	} {
		res := ikq(t, append([]string{"bulk", "--redis-url", "redis://127.0.0.1:1/0"}, c.args...)...)
		if res.code != 2 || !strings.Contains(res.stderr, c.want) || res.stdout != "" {
			t.Errorf("ikq bulk %s: exit %d, stdout %q, stderr %q; want 2 and a message naming %s",
				strings.Join(c.args, " "), res.code, res.stdout, res.stderr, c.want)
		}
	}
	// Flags after the argument count too.
	res := ikq(t, "bulk", filepath.Join(dir, "jobs.jsonl"), "--dry-run")
	if res.code != 1 || !strings.Contains(res.stderr, "line 1: ") {
		t.Errorf("ikq bulk MANIFEST --dry-run of an invalid job: exit %d, stderr %q; want 1 and line 1 named", res.code, res.stderr)
	}
	if res := ikq(t, "bulk", "-h"); res.code != 0 || !strings.Contains(res.stderr, "IKQ_FILE_ROOT") || !strings.Contains(res.stderr, "-wait") {
		t.Errorf("ikq bulk -h: exit %d, stderr %q; want 0 and the usage", res.code, res.stderr)
	}
}

func TestBulkCanceled(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	dir := t.TempDir()
	writePNG(t, filepath.Join(dir, "a.png"))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	var stdout, stderr bytes.Buffer
	err := bulkFrom(ctx, []string{"--redis-url", r.URL(), dir}, nil, &stdout, &stderr)
	if err == nil {
		t.Fatalf("a canceled bulk returned no error\nstderr: %s", stderr.String())
	}
	if n := countJobs(t, r.Client(t)); n != 0 {
		t.Errorf("a canceled bulk enqueued %d jobs", n)
	}
}
