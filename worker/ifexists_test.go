package worker_test

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// listCounter counts the files API listings that go through it.
type listCounter struct {
	next  http.RoundTripper
	lists atomic.Int64
}

func (c *listCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodGet && r.URL.Path == "/v1/files" {
		c.lists.Add(1)
	}
	return c.next.RoundTrip(r)
}

// countLists makes the stack's ImageKit client count its listings. Call it before the
// worker starts.
func (s *stack) countLists() *listCounter {
	c := &listCounter{next: http.DefaultTransport}
	s.ik.HTTPClient = &http.Client{Transport: c}
	return c
}

func hasEvent(job *jobstore.Job, msg string) bool {
	for _, e := range job.Events {
		if e.Message == msg {
			return true
		}
	}
	return false
}

// TestIfExists: each mode against a file already at the destination, through the
// real files API of the emulator.
func TestIfExists(t *testing.T) {
	t.Parallel()
	old := ikqtest.PNG(t, 3, 8, 8)
	changed := ikqtest.PNG(t, 4, 16, 16)
	for _, c := range []struct {
		mode        string
		body        []byte
		wantStatus  jobstore.Status
		wantVersion string // of the file at the path afterwards
		wantSame    bool   // the job's result is the file that was there
		wantEvent   string
		noOverwrite bool // the job says overwriteFile=false
	}{
		{mode: "skip", body: old, wantStatus: jobstore.StatusCompleted, wantVersion: "Version 1", wantSame: true,
			wantEvent: "skipped: /in/a.png already exists with the same size"},
		{mode: "skip", body: changed, wantStatus: jobstore.StatusCompleted, wantVersion: "Version 2",
			wantEvent: fmt.Sprintf("uploaded a new version of /in/a.png (its size differed: %d bytes there, %d here)", len(old), len(changed))},
		{mode: "version", body: old, wantStatus: jobstore.StatusCompleted, wantVersion: "Version 2",
			wantEvent: "uploaded a new version of /in/a.png"},
		{mode: "overwrite", body: old, wantStatus: jobstore.StatusCompleted, wantVersion: "Version 2",
			wantEvent: "uploaded to /in/a.png"},
		{mode: "fail", body: old, wantStatus: jobstore.StatusFailed, wantVersion: "Version 1"},
		// The job forbids replacing a file: a changed one fails instead of a new version.
		{mode: "skip", body: changed, noOverwrite: true, wantStatus: jobstore.StatusFailed, wantVersion: "Version 1"},
		{mode: "skip", body: old, noOverwrite: true, wantStatus: jobstore.StatusCompleted, wantVersion: "Version 1", wantSame: true,
			wantEvent: "skipped: /in/a.png already exists with the same size"},
	} {
		t.Run(fmt.Sprintf("%s, %d bytes, overwriteFile=%v", c.mode, len(c.body), !c.noOverwrite), func(t *testing.T) {
			t.Parallel()
			s := newStack(t, withoutWorker())
			there := s.uploadDirectlyIn("/in", "a.png", old)
			s.startWorker(nil)
			src := ikqtest.NewSourceServer(t, c.body, nil)
			u := tasks.Upload{File: src.URL + "/a.png", FileName: "a.png", Folder: "/in",
				UseUniqueFileName: ptr(false), IfExists: c.mode, Run: "r1"}
			if c.noOverwrite {
				u.OverwriteFile = ptr(false)
			}
			job := s.Enqueue(u)
			done := waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if done.Status != c.wantStatus {
				t.Fatalf("job ended %s, want %s: %s", done.Status, c.wantStatus, e2e.RecordText(done))
			}
			files := s.files("a.png")
			if len(files) != 1 || files[0].FilePath != "/in/a.png" || files[0].VersionInfo.Name != c.wantVersion {
				t.Fatalf("emulator files %+v, want one at /in/a.png in %s", files, c.wantVersion)
			}
			if c.wantStatus == jobstore.StatusFailed {
				if done.Error == nil || done.Error.Code != "already_exists" || !strings.Contains(done.Error.Message, "/in/a.png") || done.Error.Retryable {
					t.Fatalf("error %+v, want a permanent already_exists naming /in/a.png", done.Error)
				}
				if done.Attempts != 1 {
					t.Errorf("%d attempts, want 1: the failure is permanent", done.Attempts)
				}
				return
			}
			if res := resultOf(t, done); res.FileID != there || res.FilePath != "/in/a.png" {
				t.Errorf("result %+v, want file %s at /in/a.png", res, there)
			}
			if c.wantSame && s.Stats().Uploads != 1 {
				t.Errorf("the emulator counted %d uploads, want only the first one", s.Stats().Uploads)
			}
			if !hasEvent(done, c.wantEvent) {
				t.Errorf("no event %q: %s", c.wantEvent, e2e.RecordText(done))
			}
		})
	}
}

// TestIfExistsNothingThere: with nothing at the path, every mode uploads.
func TestIfExistsNothingThere(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	img := ikqtest.PNG(t, 5, 8, 8)
	src := ikqtest.NewSourceServer(t, img, nil)
	// A file of the same name in a subfolder is not at the path.
	s.uploadDirectlyIn("/empty/sub", "a.png", img)
	for _, mode := range []string{"skip", "version", "overwrite", "fail"} {
		job := s.Enqueue(tasks.Upload{File: src.URL + "/a.png", FileName: mode + ".png", Folder: "/empty",
			UseUniqueFileName: ptr(false), IfExists: mode})
		done := waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
		if done.Status != jobstore.StatusCompleted || resultOf(t, done).FilePath != "/empty/"+mode+".png" {
			t.Errorf("ifExists=%s: job ended %s, want completed at /empty/%s.png: %s", mode, done.Status, mode, e2e.RecordText(done))
		}
	}
	sub := s.Enqueue(tasks.Upload{File: src.URL + "/a.png", FileName: "a.png", Folder: "/empty",
		UseUniqueFileName: ptr(false), IfExists: "fail"})
	if done := waitFor(t, s.Producer, sub.ID, jobstore.StatusCompleted, jobstore.StatusFailed); done.Status != jobstore.StatusCompleted {
		t.Errorf("a file of the name in a subfolder failed the job: %s", e2e.RecordText(done))
	}
}

// TestIfExistsListsOncePerFolder: the jobs of one run in one folder share one
// listing of it; another folder or run is listed on its own.
func TestIfExistsListsOncePerFolder(t *testing.T) {
	t.Parallel()
	s := newStack(t, withoutWorker())
	lists := s.countLists()
	img := ikqtest.PNG(t, 6, 8, 8)
	const n = 12
	for i := range n {
		s.uploadDirectlyIn("/many", fmt.Sprintf("f%d.png", i), img)
	}
	src := ikqtest.NewSourceServer(t, img, nil)
	var jobs []*jobstore.Job
	for i := range n {
		jobs = append(jobs, s.Enqueue(tasks.Upload{File: src.URL + "/x.png", FileName: fmt.Sprintf("f%d.png", i),
			Folder: "/many", UseUniqueFileName: ptr(false), IfExists: "skip", Run: "once"}))
	}
	jobs = append(jobs, s.Enqueue(tasks.Upload{File: src.URL + "/x.png", FileName: "g.png",
		Folder: "/other", UseUniqueFileName: ptr(false), IfExists: "skip", Run: "once"}))
	before := lists.lists.Load()
	s.startWorker(nil)
	for _, j := range jobs {
		if done := waitFor(t, s.Producer, j.ID, jobstore.StatusCompleted, jobstore.StatusFailed); done.Status != jobstore.StatusCompleted {
			t.Fatalf("job ended %s: %s", done.Status, e2e.RecordText(done))
		}
	}
	if got := lists.lists.Load() - before; got != 2 {
		t.Errorf("%d listings for %d jobs in two folders of one run, want 2", got, n+1)
	}
	if st := s.Stats(); st.Uploads != n+1 {
		t.Errorf("the emulator counted %d uploads, want the %d direct ones and g.png", st.Uploads, n+1)
	}
}

// uploadDirectlyIn stores img at folder/name in the emulator and returns its file id.
func (s *stack) uploadDirectlyIn(folder, name string, img []byte) string {
	s.T.Helper()
	res, err := s.ik.Upload(s.T.Context(), imagekit.UploadRequest{
		File:   bytes.NewReader(img),
		Params: imagekit.Params{FileName: name, Folder: folder, UseUniqueFileName: ptr(false)},
	})
	if err != nil {
		s.T.Fatalf("uploading %s/%s directly: %v", folder, name, err)
	}
	return res.FileID
}

// TestIfExistsRerun: a re-run whose earlier attempt uploaded the file and died before
// recording it looks the path up afresh and takes that file, with skip and with fail
// alike (for fail, because the file is younger than the job).
func TestIfExistsRerun(t *testing.T) {
	t.Parallel()
	for _, mode := range []string{"skip", "fail"} {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			s := newStack(t, withoutWorker())
			lists := s.countLists()
			img := ikqtest.PNG(t, 9, 8, 8)
			src := ikqtest.NewSourceServer(t, img, nil)
			job := s.Enqueue(tasks.Upload{File: src.URL + "/a.png", FileName: "r.png", Folder: "/re",
				UseUniqueFileName: ptr(false), IfExists: mode, Run: "r"})
			store := jobstore.New(s.RDB, jobstore.Options{})
			if _, err := store.Transition(t.Context(), job.ID, jobstore.StatusActive, "attempt 1 of 10", nil); err != nil {
				t.Fatal(err)
			}
			fileID := s.uploadDirectlyIn("/re", "r.png", img)
			s.startWorker(nil)
			done := waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
			if done.Status != jobstore.StatusCompleted || done.FileID != fileID {
				t.Fatalf("re-run ended %s with %q, want completed with the earlier upload %s: %s", done.Status, done.FileID, fileID, e2e.RecordText(done))
			}
			if n := s.Stats().Uploads; n != 1 {
				t.Errorf("%d uploads, want only the earlier attempt's", n)
			}
			if n := lists.lists.Load(); n != 1 {
				t.Errorf("%d files API calls, want one lookup of the name", n)
			}
		})
	}
}
