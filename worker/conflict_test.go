package worker_test

import (
	"bytes"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// uploadDirectly stores img at /<name> in the emulator, as an earlier run of a job
// would have before it died, and returns the file id.
func (s *stack) uploadDirectly(name string, img []byte) string {
	s.T.Helper()
	res, err := s.ik.Upload(s.T.Context(), imagekit.UploadRequest{
		File:   bytes.NewReader(img),
		Params: imagekit.Params{FileName: name, UseUniqueFileName: ptr(false)},
	})
	if err != nil {
		s.T.Fatalf("uploading %s directly: %v", name, err)
	}
	return res.FileID
}

// TestRerunAdoptsItsOwnUpload: a job with overwriteFile=false and a fixed name whose
// earlier run uploaded the file and died before recording it must not fail on its
// own upload: the re-run finds the file through the files API and completes with it.
func TestRerunAdoptsItsOwnUpload(t *testing.T) {
	t.Parallel()
	s := newStack(t, withoutWorker())
	img := ikqtest.PNG(t, 7, 8, 8)
	src := ikqtest.NewSourceServer(t, img, nil)
	job := s.Enqueue(tasks.Upload{File: src.URL + "/a.png", FileName: "exact.png",
		UseUniqueFileName: ptr(false), OverwriteFile: ptr(false)})

	// The earlier run: active, uploaded, then gone.
	store := jobstore.New(s.RDB, jobstore.Options{})
	if _, err := store.Transition(t.Context(), job.ID, jobstore.StatusActive, "attempt 1 of 10", nil); err != nil {
		t.Fatal(err)
	}
	fileID := s.uploadDirectly("exact.png", img)

	s.startWorker(nil)
	done := waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if done.Status != jobstore.StatusCompleted || done.FileID != fileID {
		t.Fatalf("re-run ended %s with file %q, want completed with %q: %s", done.Status, done.FileID, fileID, e2e.RecordText(done))
	}
	if files := s.files("exact.png"); len(files) != 1 || files[0].VersionInfo.Name != "Version 1" {
		t.Fatalf("emulator files = %+v, want exactly one, in its first version", files)
	}
}

// TestConflictWithSomeoneElsesFile: the same conflict is a real one when the file
// was there before the job, on its first run and on a re-run alike.
func TestConflictWithSomeoneElsesFile(t *testing.T) {
	t.Parallel()
	for _, rerun := range []bool{false, true} {
		s := newStack(t, withoutWorker())
		img := ikqtest.PNG(t, 8, 8, 8)
		s.uploadDirectly("taken.png", img)
		src := ikqtest.NewSourceServer(t, img, nil)
		job := s.Enqueue(tasks.Upload{File: src.URL + "/a.png", FileName: "taken.png",
			UseUniqueFileName: ptr(false), OverwriteFile: ptr(false), MaxAttempts: 2})
		if rerun {
			store := jobstore.New(s.RDB, jobstore.Options{})
			if _, err := store.Transition(t.Context(), job.ID, jobstore.StatusActive, "attempt 1 of 2", nil); err != nil {
				t.Fatal(err)
			}
		}
		s.startWorker(nil)
		done := waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
		if done.Status != jobstore.StatusFailed || done.Error == nil || done.Error.Code != "imagekit_rejected" || done.Error.HTTPStatus != 400 {
			t.Fatalf("rerun=%v: job ended %s, want failed with the API's conflict: %s", rerun, done.Status, e2e.RecordText(done))
		}
	}
}

// TestRerunAdoptsExtensionStatusFromFileDetails: the files API reports no extension
// statuses, so an adopted upload's auto-tagging counts as done when its AITags are on
// the file, and any other extension stays pending until its webhook.
func TestRerunAdoptsExtensionStatusFromFileDetails(t *testing.T) {
	t.Parallel()
	s := newStack(t, withoutWorker())
	img := ikqtest.PNG(t, 9, 8, 8)
	src := ikqtest.NewSourceServer(t, img, nil)
	exts := []tasks.Extension{
		{Name: "google-auto-tagging", MinConfidence: ptr(10.0), MaxTags: ptr(3)},
		{Name: "remove-bg"},
	}
	job := s.Enqueue(tasks.Upload{File: src.URL + "/a.png", FileName: "tagged.png",
		UseUniqueFileName: ptr(false), OverwriteFile: ptr(false), Extensions: exts})

	store := jobstore.New(s.RDB, jobstore.Options{})
	if _, err := store.Transition(t.Context(), job.ID, jobstore.StatusActive, "attempt 1 of 10", nil); err != nil {
		t.Fatal(err)
	}
	res, err := s.ik.Upload(t.Context(), imagekit.UploadRequest{
		File: bytes.NewReader(img),
		Params: imagekit.Params{FileName: "tagged.png", UseUniqueFileName: ptr(false),
			Extensions: []byte(`[{"name":"google-auto-tagging","minConfidence":10,"maxTags":3},{"name":"remove-bg"}]`)},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.AITags) == 0 {
		t.Fatalf("the earlier upload got no AITags: %s", res.Raw)
	}

	s.startWorker(nil)
	done := waitFor(t, s.Producer, job.ID, jobstore.StatusUploaded, jobstore.StatusCompleted, jobstore.StatusFailed)
	if done.Status != jobstore.StatusUploaded || done.FileID != res.FileID {
		t.Fatalf("re-run ended %s with file %q, want uploaded with %q: %s", done.Status, done.FileID, res.FileID, e2e.RecordText(done))
	}
	want := map[string]string{"google-auto-tagging": "success", "remove-bg": "pending"}
	for name, status := range want {
		if done.Extensions[name] != status {
			t.Errorf("extension %s = %q, want %q (all: %v)", name, done.Extensions[name], status, done.Extensions)
		}
	}
}
