package producer_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// TestRecordSkipped: jobs whose file is in place are completed with it, without a
// task; their run counts them; the same idempotency keys return the same jobs; a job
// with a callback or an invalid one is refused alone.
func TestRecordSkipped(t *testing.T) {
	t.Parallel()
	e := e2e.NewEnv(t, producer.Config{})
	ctx := t.Context()
	no := false
	job := func(name, key string) tasks.Upload {
		return tasks.Upload{File: "https://example.com/" + name, FileName: name, Folder: "/mig", Run: "mig-1",
			IdempotencyKey: key, UseUniqueFileName: &no, IfExists: tasks.IfExistsSkip}
	}
	withCallback := job("c.jpg", "k-c")
	withCallback.CallbackURL = "https://example.com/cb"
	invalid := job("", "k-bad")
	jobs := []tasks.Upload{job("a.jpg", "k-a"), job("b.jpg", "k-b"), withCallback, invalid}
	files := []producer.SkippedFile{
		{FileID: "fa", FilePath: "/mig/a.jpg", Result: json.RawMessage(`{"fileId":"fa","filePath":"/mig/a.jpg","size":3}`)},
		{FileID: "fb", FilePath: "/mig/b.jpg", Result: json.RawMessage(`{"fileId":"fb","filePath":"/mig/b.jpg","size":4}`)},
		{FileID: "fc", FilePath: "/mig/c.jpg"}, {FileID: "fd", FilePath: "/mig/d.jpg"},
	}
	res := e.P.RecordSkipped(ctx, jobs, files)
	if len(res) != 4 {
		t.Fatalf("%d results, want 4", len(res))
	}
	if !errors.Is(res[2].Err, producer.ErrSkipWithCallback) {
		t.Errorf("job with a callback: err = %v, want ErrSkipWithCallback", res[2].Err)
	}
	var ve *tasks.ValidationError
	if !errors.As(res[3].Err, &ve) {
		t.Errorf("invalid job: err = %v, want a *tasks.ValidationError", res[3].Err)
	}
	for i, r := range res[:2] {
		if r.Err != nil || r.Existed {
			t.Fatalf("job %d: %+v", i, r)
		}
		got, err := e.P.Get(ctx, r.Job.ID)
		if err != nil {
			t.Fatal(err)
		}
		last := got.Events[len(got.Events)-1]
		want := "skipped: " + files[i].FilePath + " already exists with the same size"
		if got.Status != tasks.StatusCompleted || got.FileID != files[i].FileID || string(got.Result) != string(files[i].Result) || last.Message != want {
			t.Errorf("job %d: status %s fileId %q result %s last event %q", i, got.Status, got.FileID, got.Result, last.Message)
		}
		if e2e.Request(t, got)["fileName"] != jobs[i].FileName {
			t.Errorf("job %d: request %s", i, got.Request)
		}
	}
	if n := e.TaskCount(t); n != 0 {
		t.Errorf("%d tasks queued for skipped jobs, want 0", n)
	}
	run, err := e.P.Run(ctx, "mig-1")
	if err != nil {
		t.Fatal(err)
	}
	if run.Total != 2 || run.Counts.Completed != 2 || !run.Done {
		t.Errorf("run: total %d counts %+v done %v; want 2 completed, done", run.Total, run.Counts, run.Done)
	}

	again := e.P.RecordSkipped(ctx, jobs[:2], files[:2])
	for i, r := range again {
		if r.Err != nil || !r.Existed || r.Job.ID != res[i].Job.ID {
			t.Errorf("job %d again: %+v; want job %s, existed", i, r, res[i].Job.ID)
		}
	}
	if run, err = e.P.Run(ctx, "mig-1"); err != nil || run.Total != 2 {
		t.Errorf("run after the second call: %+v, %v; want still 2 jobs", run, err)
	}
	if bad := e.P.RecordSkipped(ctx, jobs[:2], files[:1]); bad[0].Err == nil || bad[1].Err == nil {
		t.Error("jobs and files of different lengths were accepted")
	}
}
