package bulk

import (
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/ikq-dev/ikq/tasks"
)

// TestRunResult: an exported job names its source as the run named it (a folder's
// file under the folder as given; any other source by its redacted file) and carries
// where it landed, or why it did not.
func TestRunResult(t *testing.T) {
	t.Parallel()
	folder := &tasks.Run{ID: "r", Source: "photos", Root: "/home/u/photos"}
	done := &tasks.Job{ID: "j1", Status: tasks.StatusCompleted, Attempts: 2,
		Request: json.RawMessage(`{"file":"file:///home/u/photos/2024/a%20b.png","fileName":"a b.png"}`),
		Result:  json.RawMessage(`{"fileId":"f1","filePath":"/mig/2024/a_b.png","url":"https://ik.example/mig/2024/a_b.png","size":42}`),
		Events:  []tasks.Event{{Message: "accepted"}, {Message: "skipped: /mig/2024/a_b.png is in place with the same size"}}}
	got := RunResult(folder, done)
	want := Result{Source: filepath.Join("photos", "2024", "a b.png"), Status: "completed", JobID: "j1", FileID: "f1",
		FilePath: "/mig/2024/a_b.png", URL: "https://ik.example/mig/2024/a_b.png", Size: 42, Attempts: 2, Skipped: true}
	if got != want {
		t.Errorf("folder run, completed:\n got %+v\nwant %+v", got, want)
	}

	failed := &tasks.Job{ID: "j2", Status: tasks.StatusFailed, Attempts: 1,
		Request: json.RawMessage(`{"file":"https://cdn.example/x.jpg?X-Amz-Signature=REDACTED","fileName":"x.jpg"}`),
		Error:   &tasks.JobError{Message: "File type not allowed."}}
	got = RunResult(&tasks.Run{ID: "m", Source: "list.csv"}, failed)
	want = Result{Source: "https://cdn.example/x.jpg?X-Amz-Signature=REDACTED", Status: "failed", JobID: "j2", Attempts: 1, Error: "File type not allowed."}
	if got != want {
		t.Errorf("manifest run, failed:\n got %+v\nwant %+v", got, want)
	}

	// A file outside the run's folder keeps its URL; a running job has no error yet.
	outside := &tasks.Job{ID: "j3", Status: tasks.StatusRetrying, Request: json.RawMessage(`{"file":"file:///elsewhere/c.png"}`),
		Error: &tasks.JobError{Message: "timeout"}}
	if got := RunResult(folder, outside); got.Source != "file:///elsewhere/c.png" || got.Status != "retrying" || got.Error != "" {
		t.Errorf("a running job outside the folder: %+v", got)
	}
	if got := RunResult(folder, &tasks.Job{ID: "j4", Status: tasks.StatusCanceled, Request: json.RawMessage(`{"file":"file:///home/u/photos/d.png"}`)}); got.Error != "canceled" || got.Source != filepath.Join("photos", "d.png") {
		t.Errorf("a canceled job: %+v", got)
	}
}
