package worker_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/source"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

// Every kind of source ends completed, and the uploaded file serves exactly the
// source's bytes.
func TestSourcesUploadTheirBytes(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	s := newStack(t, withSource(func(c *source.Config) { c.FileRoot = root }))

	fromURL := ikqtest.PNG(t, 1, 40, 30)
	srv := ikqtest.NewSourceServer(t, fromURL, nil)
	inline := ikqtest.PNG(t, 2, 20, 20)
	dataURI := ikqtest.PNG(t, 3, 12, 10)
	onDisk := ikqtest.PNG(t, 4, 33, 17)
	if err := os.WriteFile(filepath.Join(root, "on-disk.png"), onDisk, 0o600); err != nil {
		t.Fatal(err)
	}

	cases := []struct {
		name, file string
		want       []byte
	}{
		{"url", srv.URL + "/images/remote.png", fromURL},
		{"base64", base64.StdEncoding.EncodeToString(inline), inline},
		{"data-uri", "data:image/png;base64," + base64.StdEncoding.EncodeToString(dataURI), dataURI},
		{"file", "file://" + filepath.ToSlash(filepath.Join(root, "on-disk.png")), onDisk},
	}
	jobs := make([]*jobstore.Job, len(cases))
	for i, c := range cases {
		jobs[i] = s.Enqueue(tasks.Upload{File: c.file, FileName: c.name + ".png"})
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := waitFor(t, s.Producer, jobs[i].ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if job.Status != jobstore.StatusCompleted {
				t.Fatalf("status %s, want completed; record:\n%s", job.Status, e2e.RecordText(job))
			}
			if job.Attempts != 1 || job.Error != nil {
				t.Errorf("attempts %d, error %+v; want 1 attempt and no error", job.Attempts, job.Error)
			}
			res := resultOf(t, job)
			if res.FileID == "" || job.FileID != res.FileID {
				t.Errorf("job.fileId %q, result.fileId %q; want the same, not empty", job.FileID, res.FileID)
			}
			if got := ikqtest.Get(t, res.URL); !bytes.Equal(got, c.want) {
				t.Errorf("result.url serves %d bytes, want the %d uploaded", len(got), len(c.want))
			}
		})
	}
	if st := s.Stats(); st.Uploads != int64(len(cases)) || st.Files != len(cases) {
		t.Errorf("emulator: %d uploads, %d files; want %d of each", st.Uploads, st.Files, len(cases))
	}
	if n := srv.Requests(); n != 1 {
		t.Errorf("the URL source got %d requests, want 1", n)
	}
}

// fullJob sets every Upload API option.
func fullJob(file string) tasks.Upload {
	return tasks.Upload{
		File:              file,
		FileName:          "red shoe.png",
		UseUniqueFileName: ptr(false),
		Tags:              tasks.StringList{"summer", "shoes"},
		Folder:            "/products/summer",
		IsPrivateFile:     ptr(true),
		IsPublished:       ptr(false),
		CustomCoordinates: "10,20,30,40",
		ResponseFields:    tasks.StringList{"tags", "customCoordinates", "customMetadata"},
		Extensions: []tasks.Extension{
			{Name: "remove-bg", Options: map[string]any{"add_shadow": true}},
			{Name: "google-auto-tagging", MinConfidence: ptr(80.0), MaxTags: ptr(5)},
		},
		WebhookURL:              "https://app.example.com/hooks/imagekit",
		OverwriteFile:           ptr(false),
		OverwriteAITags:         ptr(false),
		OverwriteTags:           ptr(true),
		OverwriteCustomMetadata: ptr(false),
		CustomMetadata:          map[string]any{"brand": "Acme", "color": "red"},
		Transformation: &tasks.Transformation{
			Pre:  "w-300,h-300",
			Post: []tasks.PostTransform{{Type: "transformation", Value: "w-100"}},
		},
		Checks:      `"file.size" < "1mb"`,
		Description: "A red shoe, side view",
	}
}

// recordedUpload is one request the recording Upload API received.
type recordedUpload struct {
	user     string
	fields   map[string]string
	fileName string // the file part's filename
	file     []byte
}

// uploadRecorder is an Upload API that records each request's form and answers a
// success naming every requested extension as done.
type uploadRecorder struct {
	mu   sync.Mutex
	reqs []recordedUpload
}

func (rec *uploadRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	user, _, _ := r.BasicAuth()
	got := recordedUpload{user: user, fields: map[string]string{}}
	mr, err := r.MultipartReader()
	if err != nil {
		http.Error(w, `{"message":"not multipart"}`, http.StatusBadRequest)
		return
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			http.Error(w, `{"message":"bad multipart"}`, http.StatusBadRequest)
			return
		}
		b, _ := io.ReadAll(part)
		if part.FormName() == "file" {
			got.fileName, got.file = part.FileName(), b
			continue
		}
		if _, dup := got.fields[part.FormName()]; dup {
			got.fields[part.FormName()] += "\x00(repeated)"
		}
		got.fields[part.FormName()] += string(b)
	}
	rec.mu.Lock()
	n := len(rec.reqs)
	rec.reqs = append(rec.reqs, got)
	rec.mu.Unlock()

	statuses := map[string]string{}
	var exts []struct{ Name string }
	_ = json.Unmarshal([]byte(got.fields["extensions"]), &exts)
	for _, e := range exts {
		statuses[e.Name] = "success"
	}
	resp := map[string]any{
		"fileId":   fmt.Sprintf("recorded%d", n),
		"name":     got.fields["fileName"],
		"filePath": "/" + got.fields["fileName"],
		"url":      "https://ik.example.com/x/" + got.fields["fileName"],
		"fileType": "image",
		"size":     len(got.file),
	}
	if len(statuses) > 0 {
		resp["extensionStatus"] = statuses
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(resp)
}

func (rec *uploadRecorder) requests() []recordedUpload {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return slices.Clone(rec.reqs)
}

// Every option reaches the Upload API as the exact form field it documents.
func TestEveryOptionArrivesAsTheAPIsFormField(t *testing.T) {
	t.Parallel()
	rec := &uploadRecorder{}
	api := httptest.NewServer(rec)
	t.Cleanup(api.Close)
	s := newStack(t, withUploadURL(api.URL+"/api/v1/files/upload"))

	content := ikqtest.PNG(t, 5, 16, 16)
	inline := base64.StdEncoding.EncodeToString(content)
	full := s.Enqueue(fullJob(inline))
	full = waitFor(t, s.Producer, full.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if full.Status != jobstore.StatusCompleted {
		t.Fatalf("full job: status %s; record:\n%s", full.Status, e2e.RecordText(full))
	}
	if want := map[string]string{"remove-bg": "success", "google-auto-tagging": "success"}; !maps.Equal(full.Extensions, want) {
		t.Errorf("extensions %v, want %v", full.Extensions, want)
	}

	// Defaults: useUniqueFileName is true, which the worker turns into a name derived
	// from the job id, uploaded without ImageKit's suffix and overwriting, so that a
	// re-run lands on the same path.
	plain := s.Enqueue(tasks.Upload{File: inline, FileName: "my photo.png"})
	plain = waitFor(t, s.Producer, plain.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if plain.Status != jobstore.StatusCompleted {
		t.Fatalf("default job: status %s; record:\n%s", plain.Status, e2e.RecordText(plain))
	}

	reqs := rec.requests()
	if len(reqs) != 2 {
		t.Fatalf("the Upload API got %d requests, want 2", len(reqs))
	}
	wantFull := map[string]string{
		"fileName":                "red shoe.png",
		"useUniqueFileName":       "false",
		"tags":                    "summer,shoes",
		"folder":                  "/products/summer",
		"isPrivateFile":           "true",
		"isPublished":             "false",
		"customCoordinates":       "10,20,30,40",
		"responseFields":          "tags,customCoordinates,customMetadata",
		"extensions":              `[{"name":"remove-bg","options":{"add_shadow":true}},{"name":"google-auto-tagging","minConfidence":80,"maxTags":5}]`,
		"webhookUrl":              "https://app.example.com/hooks/imagekit",
		"overwriteFile":           "false",
		"overwriteAITags":         "false",
		"overwriteTags":           "true",
		"overwriteCustomMetadata": "false",
		"customMetadata":          `{"brand":"Acme","color":"red"}`,
		"transformation":          `{"pre":"w-300,h-300","post":[{"type":"transformation","value":"w-100"}]}`,
		"checks":                  `"file.size" < "1mb"`,
		"description":             "A red shoe, side view",
	}
	unique := worker.UniqueName(tasks.CleanFileName("my photo.png"), plain.ID)
	if !regexp.MustCompile(`^my_photo_[A-Za-z0-9]{9}\.png$`).MatchString(unique) {
		t.Errorf("UniqueName = %q, want my_photo_ + 9 letters and digits + .png", unique)
	}
	wantPlain := map[string]string{
		"fileName":          unique,
		"useUniqueFileName": "false",
		"overwriteFile":     "true",
	}
	for i, want := range []map[string]string{wantFull, wantPlain} {
		got := reqs[i]
		if got.user != privateKey {
			t.Errorf("request %d: Basic user %q, want the private key", i, got.user)
		}
		for name, v := range want {
			if got.fields[name] != v {
				t.Errorf("request %d: field %s = %q, want %q", i, name, got.fields[name], v)
			}
		}
		for name, v := range got.fields {
			if _, ok := want[name]; !ok {
				t.Errorf("request %d: unexpected field %s = %q", i, name, v)
			}
		}
		if got.fileName != want["fileName"] || !bytes.Equal(got.file, content) {
			t.Errorf("request %d: file part %q with %d bytes, want %q with the %d source bytes",
				i, got.fileName, len(got.file), want["fileName"], len(content))
		}
	}
	if r := resultOf(t, plain); r.Name != unique {
		t.Errorf("default job result name %q, want %q", r.Name, unique)
	}
}

// The same job, every option set, is accepted by the emulator and stored as asked.
func TestEveryOptionAgainstTheEmulator(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.createMetadataField("brand")
	s.createMetadataField("color")

	spec := fullJob(base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 6, 24, 24)))
	// remove-bg would stay pending until its webhook reaches a receiver, which the
	// worker alone does not run; auto-tagging finishes within the upload.
	spec.Extensions = []tasks.Extension{
		{Name: "google-auto-tagging", MinConfidence: ptr(10.0), MaxTags: ptr(5)},
		{Name: "aws-auto-tagging", MinConfidence: ptr(10.0), MaxTags: ptr(3)},
	}
	job := s.Enqueue(spec)
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed, jobstore.StatusUploaded)
	if job.Status != jobstore.StatusCompleted {
		t.Fatalf("status %s, want completed; record:\n%s", job.Status, e2e.RecordText(job))
	}
	if want := map[string]string{"google-auto-tagging": "success", "aws-auto-tagging": "success"}; !maps.Equal(job.Extensions, want) {
		t.Errorf("extensions %v, want %v", job.Extensions, want)
	}
	res := resultOf(t, job)
	if res.FilePath != "/products/summer/red_shoe.png" {
		t.Errorf("filePath %q, want /products/summer/red_shoe.png (useUniqueFileName=false)", res.FilePath)
	}
	files := s.files("red_shoe.png")
	if len(files) != 1 {
		t.Fatalf("%d files named red_shoe.png, want 1", len(files))
	}
	f := files[0]
	if !slices.Equal(f.Tags, []string{"summer", "shoes"}) || !f.IsPrivateFile || f.IsPublished ||
		f.CustomCoordinates == nil || *f.CustomCoordinates != "10,20,30,40" ||
		f.CustomMetadata["brand"] != "Acme" || f.CustomMetadata["color"] != "red" ||
		f.Description != "A red shoe, side view" {
		t.Errorf("stored file does not carry the job's options: %+v", f)
	}
}

// 500s are transient: retried with backoff, each using an attempt, then success.
func TestServerErrorsAreRetried(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.Fault(`{"status":500,"count":2}`)
	job := s.Enqueue(tasks.Upload{File: base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 7, 10, 10)), FileName: "retried.png"})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted || job.Attempts != 3 || job.Error != nil {
		t.Fatalf("status %s, attempts %d, error %+v; want completed after 3 attempts, no error; record:\n%s",
			job.Status, job.Attempts, job.Error, e2e.RecordText(job))
	}
	retries := eventsIn(job, jobstore.StatusRetrying)
	if len(retries) != 2 {
		t.Fatalf("%d retrying events, want 2; record:\n%s", len(retries), e2e.RecordText(job))
	}
	for _, e := range retries {
		if !strings.Contains(e.Message, "imagekit_unavailable") {
			t.Errorf("retrying event %q does not name the error code imagekit_unavailable", e.Message)
		}
	}
	var attempts []string
	for _, e := range eventsIn(job, jobstore.StatusActive) {
		attempts = append(attempts, e.Message)
	}
	if want := []string{"attempt 1 of 10", "attempt 2 of 10", "attempt 3 of 10"}; !slices.Equal(attempts, want) {
		t.Errorf("active events %q, want %q", attempts, want)
	}
	st := s.Stats()
	if st.Faults["500"] != 2 || st.Uploads != 1 || st.Files != 1 {
		t.Errorf("emulator: faults %v, %d uploads, %d files; want 2 500s, 1 upload, 1 file", st.Faults, st.Uploads, st.Files)
	}
}

// A 400 is permanent: the job fails at once with the API's message, and asynq
// archives the task without running it again.
func TestBadRequestFailsAtOnce(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.createMetadataField("brand")
	content := base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 8, 10, 10))
	cases := []struct {
		name    string
		spec    tasks.Upload
		message string
	}{
		{"unknown-metadata-field", tasks.Upload{File: content, FileName: "meta.png", CustomMetadata: map[string]any{"neverCreated": "x"}},
			"Invalid custom metadata."},
		{"checks", tasks.Upload{File: content, FileName: "checks.png", Checks: `"file.size" > "1gb"`},
			"Your request failed 'checks' validation."},
	}
	jobs := make([]*jobstore.Job, len(cases))
	for i, c := range cases {
		jobs[i] = s.Enqueue(c.spec)
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := waitFor(t, s.Producer, jobs[i].ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if job.Status != jobstore.StatusFailed || job.Attempts != 1 {
				t.Fatalf("status %s after %d attempts, want failed after 1; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
			}
			want := jobstore.JobError{Code: "imagekit_rejected", Message: c.message, Retryable: false, HTTPStatus: 400}
			if job.Error == nil || *job.Error != want {
				t.Errorf("error %+v, want %+v", job.Error, want)
			}
			if n := len(eventsIn(job, jobstore.StatusRetrying)); n != 0 {
				t.Errorf("%d retrying events, want none", n)
			}
			s.WaitTaskState(job, "archived")
		})
	}
	if st := s.Stats(); st.Rejected != int64(len(cases)) || st.Uploads != 0 {
		t.Errorf("emulator: %d rejected, %d uploads; want exactly %d rejected (one per job) and none stored", st.Rejected, st.Uploads, len(cases))
	}
}

// The Upload API's own limit for URL sources is the opener's default; tests use less.
func TestHeaderTimeoutDefaultIsTheAPIsEightSeconds(t *testing.T) {
	if source.DefaultHeaderTimeout != 8*time.Second {
		t.Errorf("source.DefaultHeaderTimeout = %s, want 8s", source.DefaultHeaderTimeout)
	}
}

// blockingSource holds the first block requests without sending headers (block < 0:
// every request) and serves the rest.
func blockingSource(t *testing.T, body []byte, block int64) *ikqtest.SourceServer {
	stop := make(chan struct{})
	srv := ikqtest.NewSourceServer(t, body, func(n int64, _ http.ResponseWriter, r *http.Request) bool {
		if block >= 0 && n > block {
			return false
		}
		select {
		case <-r.Context().Done():
		case <-stop:
		}
		return true
	})
	t.Cleanup(func() { close(stop) }) // before the server's Close, which waits for handlers
	return srv
}

// A source that sends no headers in time is tried again with backoff within the
// attempt, and the job completes once it answers.
func TestSilentSourceIsRetriedWithBackoff(t *testing.T) {
	t.Parallel()
	s := newStack(t, withSource(func(c *source.Config) { c.HeaderTimeout = 200 * time.Millisecond }))
	body := ikqtest.PNG(t, 9, 10, 10)
	srv := blockingSource(t, body, 2)
	job := s.Enqueue(tasks.Upload{File: srv.URL + "/slow.png", FileName: "slow.png"})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted {
		t.Fatalf("status %s; record:\n%s", job.Status, e2e.RecordText(job))
	}
	if n := srv.Requests(); n != 3 {
		t.Errorf("the source got %d requests, want 3 (two without headers in time, then one answered)", n)
	}
	waits := s.sleeps.recorded()
	if len(waits) != 2 {
		t.Errorf("the opener backed off %d times (%v), want 2", len(waits), waits)
	}
	for _, d := range waits {
		if d <= 0 {
			t.Errorf("backoff wait %s, want positive", d)
		}
	}
	if got := ikqtest.Get(t, resultOf(t, job).URL); !bytes.Equal(got, body) {
		t.Errorf("stored %d bytes, want the %d the source served", len(got), len(body))
	}
}

// A source that never answers fails the job after its attempts, as a retryable
// source error.
func TestSourceThatNeverAnswersFailsAfterMaxAttempts(t *testing.T) {
	t.Parallel()
	s := newStack(t, withSource(func(c *source.Config) {
		c.HeaderTimeout = 200 * time.Millisecond
		c.RetryElapsed = 300 * time.Millisecond
	}))
	srv := blockingSource(t, nil, -1)
	job := s.Enqueue(tasks.Upload{File: srv.URL + "/never.png", FileName: "never.png", MaxAttempts: 2})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusFailed || job.Attempts != 2 {
		t.Fatalf("status %s after %d attempts, want failed after 2; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
	}
	e := job.Error
	if e == nil || !strings.HasPrefix(e.Code, "source_") || !e.Retryable || !strings.Contains(e.Message, "2 attempts") {
		t.Errorf("error %+v, want a retryable source_ error that says it gave up after 2 attempts", e)
	}
	if n := len(eventsIn(job, jobstore.StatusRetrying)); n != 1 {
		t.Errorf("%d retrying events, want 1", n)
	}
	if n := srv.Requests(); n < 2 {
		t.Errorf("the source got %d requests, want at least one per attempt", n)
	}
	s.WaitTaskState(job, "archived")
	if st := s.Stats(); st.Uploads != 0 || st.Rejected != 0 {
		t.Errorf("emulator: %d uploads, %d rejected; nothing should have reached it", st.Uploads, st.Rejected)
	}
}

// Throttled answers are waited out without using an attempt: the attempt number is
// asynq's retry count + 1, and a throttled retry does not count.
func TestThrottlingIsWaitedOutWithoutUsingAnAttempt(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, script string
		maxAttempts  int
		fault        string
	}{
		{"429", `{"status":429,"count":1}`, 0, "429"},
		{"400-too-many-requests", `{"status":400,"count":1,"message":"You have sent too many requests to update the file recently. Please try again later."}`, 0, "400"},
		// asynq archives a task whose retries are used up whatever IsFailure says, so
		// the last attempt must wait out a throttle without asynq.
		{"429-on-last-attempt", `{"status":429,"count":1}`, 1, "429"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			s := newStack(t)
			s.Fault(c.script)
			job := s.Enqueue(tasks.Upload{File: base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 10, 10, 10)), FileName: "throttled.png", MaxAttempts: c.maxAttempts})
			job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if job.Status != jobstore.StatusCompleted || job.Attempts != 1 {
				t.Fatalf("status %s, attempts %d; want completed with attempts 1; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
			}
			retries := eventsIn(job, jobstore.StatusRetrying)
			if len(retries) != 1 || !strings.Contains(retries[0].Message, "throttled") {
				t.Errorf("retrying events %+v, want one saying the job was throttled", retries)
			}
			want := fmt.Sprintf("attempt 1 of %d", job.MaxAttempts)
			active := eventsIn(job, jobstore.StatusActive)
			if len(active) != 2 {
				t.Errorf("%d active events, want 2 (the throttled run and the one after)", len(active))
			}
			for _, e := range active {
				if e.Message != want {
					t.Errorf("active event %q, want %q: a throttled retry must not use an attempt", e.Message, want)
				}
			}
			st := s.Stats()
			if st.Faults[c.fault] != 1 || st.Uploads != 1 {
				t.Errorf("emulator: faults %v, %d uploads; want one %s and one upload", st.Faults, st.Uploads, c.fault)
			}
			s.WaitTaskState(job, "gone")
		})
	}
}

// An idempotency key used twice gives one job and one asset.
func TestIdempotencyKeyGivesOneJobAndOneAsset(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	spec := tasks.Upload{File: base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 11, 10, 10)), FileName: "once.png", IdempotencyKey: "order-42/photo-1"}
	first := s.Enqueue(spec)
	second := s.Enqueue(spec)
	if first.ID != second.ID {
		t.Fatalf("two enqueues with one key gave jobs %s and %s", first.ID, second.ID)
	}
	job := waitFor(t, s.Producer, first.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted || job.Attempts != 1 {
		t.Fatalf("status %s, attempts %d; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
	}
	// And once more after it finished.
	if third := s.Enqueue(spec); third.ID != first.ID || third.Status != jobstore.StatusCompleted {
		t.Errorf("enqueue after completion gave job %s (%s), want %s (completed)", third.ID, third.Status, first.ID)
	}
	s.WaitTaskState(job, "gone")
	name := worker.UniqueName("once.png", job.ID)
	if files := s.files(name); len(files) != 1 || files[0].VersionInfo.Name != "Version 1" {
		t.Errorf("files named %s: %+v; want exactly one, in its first version", name, files)
	}
	if st := s.Stats(); st.Uploads != 1 || st.Files != 1 {
		t.Errorf("emulator: %d uploads, %d files; want 1 of each", st.Uploads, st.Files)
	}
}

// fetch=remote hands the URL to ImageKit, which downloads it; ImageKit's 400 for a
// URL it could not download is retried in that mode.
func TestRemoteFetch(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	okBody := ikqtest.PNG(t, 12, 10, 10)
	okSrc := ikqtest.NewSourceServer(t, okBody, nil)
	lateBody := ikqtest.PNG(t, 13, 10, 10)
	lateSrc := ikqtest.NewSourceServer(t, lateBody, func(n int64, w http.ResponseWriter, _ *http.Request) bool {
		if n == 1 {
			http.NotFound(w, nil)
			return true
		}
		return false
	})
	ok := s.Enqueue(tasks.Upload{File: okSrc.URL + "/ok.png", FileName: "ok.png", Fetch: tasks.FetchRemote})
	late := s.Enqueue(tasks.Upload{File: lateSrc.URL + "/late.png", FileName: "late.png", Fetch: tasks.FetchRemote})

	cases := []struct {
		name     string
		job      *jobstore.Job
		src      *ikqtest.SourceServer
		body     []byte
		attempts int
	}{
		{"served", ok, okSrc, okBody, 1},
		{"404-then-served", late, lateSrc, lateBody, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := waitFor(t, s.Producer, c.job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if job.Status != jobstore.StatusCompleted || job.Attempts != c.attempts {
				t.Fatalf("status %s, attempts %d; want completed after %d; record:\n%s", job.Status, job.Attempts, c.attempts, e2e.RecordText(job))
			}
			retries := eventsIn(job, jobstore.StatusRetrying)
			if len(retries) != c.attempts-1 {
				t.Errorf("%d retrying events, want %d", len(retries), c.attempts-1)
			}
			for _, e := range retries {
				if !strings.Contains(e.Message, "remote_fetch_failed") {
					t.Errorf("retrying event %q does not name remote_fetch_failed", e.Message)
				}
			}
			agents := c.src.UserAgents()
			if len(agents) != c.attempts {
				t.Errorf("the source got %d requests, want %d", len(agents), c.attempts)
			}
			for _, ua := range agents {
				if ua != "ImageKit-Emulator" {
					t.Errorf("the source was fetched by %q; only ImageKit (the emulator) should fetch it", ua)
				}
			}
			if got := ikqtest.Get(t, resultOf(t, job).URL); !bytes.Equal(got, c.body) {
				t.Errorf("stored %d bytes, want the %d the source served", len(got), len(c.body))
			}
		})
	}
}

// A source that cannot succeed fails the job at once, with the source's error.
func TestPermanentSourceFailures(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	outside := t.TempDir()
	if err := os.WriteFile(filepath.Join(outside, "secret.png"), ikqtest.PNG(t, 14, 4, 4), 0o600); err != nil {
		t.Fatal(err)
	}
	const maxSize = 4096
	s := newStack(t, withSource(func(c *source.Config) {
		c.FileRoot = root
		c.MaxSize = maxSize
	}))
	status := func(code int) *ikqtest.SourceServer {
		return ikqtest.NewSourceServer(t, nil, func(_ int64, w http.ResponseWriter, _ *http.Request) bool {
			w.WriteHeader(code)
			return true
		})
	}
	big := bytes.Repeat([]byte{0x89}, 3*maxSize)
	declaredBig := ikqtest.NewSourceServer(t, big, nil)
	streamedBig := ikqtest.NewSourceServer(t, nil, func(_ int64, w http.ResponseWriter, _ *http.Request) bool {
		w.Header().Set("Content-Type", "image/png")
		for i := 0; i < 3; i++ { // chunked: no Content-Length, so the cap applies while streaming
			_, _ = w.Write(big[:maxSize])
			w.(http.Flusher).Flush()
		}
		return true
	})
	fileURL := func(dir, name string) string { return "file://" + filepath.ToSlash(filepath.Join(dir, name)) }

	cases := []struct {
		name, file, code string
		httpStatus       int
	}{
		{"http-404", status(http.StatusNotFound).URL + "/a.png", "source_not_found", 404},
		{"http-410", status(http.StatusGone).URL + "/a.png", "source_not_found", 410},
		{"http-403", status(http.StatusForbidden).URL + "/a.png", "source_forbidden", 403},
		{"http-400", status(http.StatusBadRequest).URL + "/a.png", "source_invalid", 400},
		{"declared-too-large", declaredBig.URL + "/big.png", "source_too_large", -1},
		{"streamed-too-large", streamedBig.URL + "/big.png", "source_too_large", -1},
		{"file-missing", fileURL(root, "missing.png"), "source_not_found", 0},
		{"file-outside-root", fileURL(outside, "secret.png"), "source_forbidden", 0},
	}
	jobs := make([]*jobstore.Job, len(cases))
	for i, c := range cases {
		jobs[i] = s.Enqueue(tasks.Upload{File: c.file, FileName: c.name + ".png"})
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			job := waitFor(t, s.Producer, jobs[i].ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if job.Status != jobstore.StatusFailed || job.Attempts != 1 {
				t.Fatalf("status %s after %d attempts, want failed after 1; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
			}
			e := job.Error
			if e == nil || e.Code != c.code || e.Retryable {
				t.Fatalf("error %+v, want code %s, not retryable", e, c.code)
			}
			if c.httpStatus >= 0 && e.HTTPStatus != c.httpStatus {
				t.Errorf("error httpStatus %d, want %d", e.HTTPStatus, c.httpStatus)
			}
			if e.Message == "" {
				t.Error("error has no message")
			}
			s.WaitTaskState(job, "archived")
			if files := s.files(worker.UniqueName(c.name+".png", job.ID)); len(files) != 0 {
				t.Errorf("a file was stored: %+v", files)
			}
		})
	}
	if st := s.Stats(); st.Uploads != 0 || st.Files != 0 {
		t.Errorf("emulator: %d uploads, %d files; want none", st.Uploads, st.Files)
	}
}

// A job canceled while its task waits is never uploaded, whether or not the
// producer managed to delete the task.
func TestCanceledWhileQueuedIsNeverUploaded(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	content := base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 15, 10, 10))
	runAt := time.Now().Add(2 * time.Second)
	viaProducer := s.Enqueue(tasks.Upload{File: content, FileName: "a.png", RunAt: &runAt})
	recordOnly := s.Enqueue(tasks.Upload{File: content, FileName: "b.png", RunAt: &runAt})

	job, err := s.Producer.Cancel(t.Context(), viaProducer.ID)
	if err != nil || job.Status != jobstore.StatusCanceled {
		t.Fatalf("Cancel: %v, %+v", err, job)
	}
	if st := s.TaskState(viaProducer); st != "gone" {
		t.Errorf("after Cancel the task is %s, want deleted", st)
	}
	// As if the task could not be deleted: only the record says canceled. The
	// worker runs the task at runAt and must drop it.
	if _, err := jobstore.New(s.RDB, jobstore.Options{}).Transition(t.Context(), recordOnly.ID, jobstore.StatusCanceled, "canceled (record only)", nil); err != nil {
		t.Fatal(err)
	}
	if st := s.TaskState(recordOnly); st != "scheduled" {
		t.Fatalf("task is %s, want scheduled", st)
	}
	s.WaitTaskState(recordOnly, "gone") // ran at runAt (asynq schedules by the second), and dropped
	if time.Now().Before(runAt.Truncate(time.Second)) {
		t.Fatalf("task gone before its runAt")
	}
	for _, id := range []string{viaProducer.ID, recordOnly.ID} {
		job, err := s.Producer.Get(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		if job.Status != jobstore.StatusCanceled || job.Attempts != 0 || len(eventsIn(job, jobstore.StatusActive)) != 0 {
			t.Errorf("job %s: status %s, attempts %d; want canceled and never active; record:\n%s", id, job.Status, job.Attempts, e2e.RecordText(job))
		}
	}
	if st := s.Stats(); st.Uploads != 0 || st.Rejected != 0 {
		t.Errorf("emulator: %d uploads, %d rejected; want no upload attempt", st.Uploads, st.Rejected)
	}
}

// A job canceled while it uploads stops, and nothing is stored.
func TestCanceledWhileActiveStops(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	src := ikqtest.NewSlowSource(t, ikqtest.PNG(t, 16, 64, 64))
	job := s.Enqueue(tasks.Upload{File: src.URL + "/slow.png", FileName: "slow.png"})
	src.WaitStarted(t)
	waitFor(t, s.Producer, job.ID, jobstore.StatusActive)

	if _, err := s.Producer.Cancel(t.Context(), job.ID); err != nil {
		t.Fatalf("Cancel: %v", err)
	}
	s.WaitTaskState(job, "gone") // the handler stopped, and any re-run dropped the job
	src.Release()

	job, err := s.Producer.Get(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != jobstore.StatusCanceled || job.Result != nil {
		t.Errorf("status %s, result %s; want canceled, no result; record:\n%s", job.Status, job.Result, e2e.RecordText(job))
	}
	if files := s.files(worker.UniqueName("slow.png", job.ID)); len(files) != 0 {
		t.Errorf("a file was stored: %+v", files)
	}
	if st := s.Stats(); st.Uploads != 0 || st.Files != 0 {
		t.Errorf("emulator: %d uploads, %d files; want none", st.Uploads, st.Files)
	}
}

// Stopping the worker lets a running upload finish within ShutdownGrace; Run
// returns once it has.
func TestShutdownLetsRunningUploadFinish(t *testing.T) {
	t.Parallel()
	s := newStack(t, withWorker(func(c *worker.Config) { c.ShutdownGrace = 20 * time.Second }))
	body := ikqtest.PNG(t, 17, 64, 64)
	src := ikqtest.NewSlowSource(t, body)
	job := s.Enqueue(tasks.Upload{File: src.URL + "/slow.png", FileName: "graceful.png"})
	src.WaitStarted(t)

	s.worker.Cancel()
	ikqtest.Eventually(t, func() string { return "the worker never logged that it is stopping" }, func() bool {
		return len(s.Logs.Lines("worker stopping")) > 0
	})
	time.Sleep(100 * time.Millisecond) // let Run reach asynq's Shutdown
	select {
	case <-s.worker.Done():
		t.Fatal("Run returned while an upload was still running")
	default:
	}
	src.Release()
	s.worker.Wait(t)

	// Run has returned: the job was finished before it did.
	job, err := s.Producer.Get(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if job.Status != jobstore.StatusCompleted || job.Attempts != 1 {
		t.Fatalf("status %s, attempts %d after Run returned; want completed after 1; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
	}
	if got := ikqtest.Get(t, resultOf(t, job).URL); !bytes.Equal(got, body) {
		t.Errorf("stored %d bytes, want the %d the source served", len(got), len(body))
	}
	if st := s.TaskState(job); st != "gone" {
		t.Errorf("task is %s, want done (deleted)", st)
	}
}

// An upload that cannot finish within ShutdownGrace goes back to the queue, and the
// next worker uploads it to the same path: one file.
func TestShutdownRequeuesUnfinishedUpload(t *testing.T) {
	t.Parallel()
	s := newStack(t, withWorker(func(c *worker.Config) { c.ShutdownGrace = 300 * time.Millisecond }))
	body := ikqtest.PNG(t, 18, 64, 64)
	src := ikqtest.NewSlowSource(t, body)
	job := s.Enqueue(tasks.Upload{File: src.URL + "/slow.png", FileName: "requeued.png"})
	src.WaitStarted(t)
	waitFor(t, s.Producer, job.ID, jobstore.StatusActive)

	s.worker.Stop(t)
	if st := s.TaskState(job); st != "pending" {
		t.Fatalf("after shutdown the task is %s, want pending (pushed back)", st)
	}
	back, err := s.Producer.Get(t.Context(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if back.Status != jobstore.StatusQueued || back.Attempts != 1 {
		t.Errorf("after shutdown: status %s, attempts %d; want queued with 1 attempt made; record:\n%s", back.Status, back.Attempts, e2e.RecordText(back))
	}

	src.Release()
	s.startWorker(nil)
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted || job.Attempts != 1 {
		t.Fatalf("status %s, attempts %d; want completed, and the push back did not use an attempt; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
	}
	name := worker.UniqueName("requeued.png", job.ID)
	if files := s.files(name); len(files) != 1 {
		t.Errorf("%d files named %s, want 1", len(files), name)
	}
	if st := s.Stats(); st.Files != 1 {
		t.Errorf("emulator holds %d files, want 1", st.Files)
	}
	if got := ikqtest.Get(t, resultOf(t, job).URL); !bytes.Equal(got, body) {
		t.Errorf("stored %d bytes, want the %d the source served", len(got), len(body))
	}
}

// Every log line about a job carries job_id and attempt.
func TestLogsCarryJobIDAndAttempt(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	s.Fault(`{"status":500,"count":1}`)
	job := s.Enqueue(tasks.Upload{File: base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 19, 10, 10)), FileName: "logged.png"})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted || job.Attempts != 2 {
		t.Fatalf("status %s, attempts %d; record:\n%s", job.Status, job.Attempts, e2e.RecordText(job))
	}
	s.WaitTaskState(job, "gone")

	lines := s.Logs.Lines(job.ID)
	seen := map[float64]bool{}
	for _, l := range lines {
		if !strings.Contains(l, `"job_id":"`+job.ID+`"`) || !strings.Contains(l, `"attempt":`) {
			t.Errorf("log line about the job without job_id or attempt: %s", l)
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Errorf("log line is not JSON: %s", l)
			continue
		}
		n, _ := rec["attempt"].(float64)
		seen[n] = true
	}
	if !seen[1] || !seen[2] || len(seen) != 2 {
		t.Errorf("attempts in the logs %v, want 1 and 2; lines:\n%s", seen, strings.Join(lines, "\n"))
	}
}

// UniqueName makes ImageKit's suffix shape from the job id: the same for the same
// job, different for another.
func TestUniqueName(t *testing.T) {
	t.Parallel()
	shape := regexp.MustCompile(`^photo_[A-Za-z0-9]{9}\.jpg$`)
	a := worker.UniqueName("photo.jpg", "01JOBAAAAAAAAAAAAAAAAAAAAA")
	if !shape.MatchString(a) {
		t.Errorf("UniqueName = %q, want photo_ + 9 letters and digits + .jpg", a)
	}
	if again := worker.UniqueName("photo.jpg", "01JOBAAAAAAAAAAAAAAAAAAAAA"); again != a {
		t.Errorf("the same job gave %q and %q", a, again)
	}
	if other := worker.UniqueName("photo.jpg", "01JOBBBBBBBBBBBBBBBBBBBBBB"); other == a {
		t.Errorf("two jobs gave the same name %q", a)
	}
	suffix := strings.TrimSuffix(strings.TrimPrefix(a, "photo"), ".jpg")
	for _, c := range []struct{ in, want string }{
		{"archive.tar.gz", "archive.tar" + suffix + ".gz"},
		{"README", "README" + suffix},
		{".hidden", ".hidden" + suffix},
	} {
		if got := worker.UniqueName(c.in, "01JOBAAAAAAAAAAAAAAAAAAAAA"); got != c.want {
			t.Errorf("UniqueName(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
