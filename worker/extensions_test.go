package worker_test

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// aiTasksAndSaved requests the two extensions that carry their own fields (tasks, id).
func aiTasksAndSaved() []tasks.Extension {
	return []tasks.Extension{
		{Name: "ai-tasks", Tasks: []map[string]any{
			{"type": "yes_no", "instruction": "Is it a shoe?", "on_yes": map[string]any{"add_tags": []any{"shoe"}}},
			{"type": "select_tags", "instruction": "Which colours?", "vocabulary": []any{"red", "blue"}, "max_selections": 2.0},
		}},
		{Name: "saved-extension", ID: "ext_0123"},
	}
}

// ai-tasks and saved-extension reach the Upload API with their tasks and id, as
// ImageKit documents them.
func TestAITasksAndSavedExtensionArriveAsSent(t *testing.T) {
	t.Parallel()
	rec := &uploadRecorder{}
	api := httptest.NewServer(rec)
	t.Cleanup(api.Close)
	s := newStack(t, withUploadURL(api.URL+"/api/v1/files/upload"))

	job := s.Enqueue(tasks.Upload{
		File: base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 7, 8, 8)), FileName: "a.png", Extensions: aiTasksAndSaved(),
	})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted {
		t.Fatalf("status %s; record:\n%s", job.Status, e2e.RecordText(job))
	}
	reqs := rec.requests()
	if len(reqs) != 1 {
		t.Fatalf("the Upload API got %d requests, want 1", len(reqs))
	}
	var got, want any
	if err := json.Unmarshal([]byte(reqs[0].fields["extensions"]), &got); err != nil {
		t.Fatalf("extensions field %q: %v", reqs[0].fields["extensions"], err)
	}
	b, _ := json.Marshal(aiTasksAndSaved())
	_ = json.Unmarshal(b, &want)
	if !reflect.DeepEqual(got, want) {
		t.Errorf("extensions field\n %s\nwant\n %s", reqs[0].fields["extensions"], b)
	}
	if want := map[string]string{"ai-tasks": "success", "saved-extension": "success"}; !maps.Equal(job.Extensions, want) {
		t.Errorf("extensions %v, want %v", job.Extensions, want)
	}
}

// The emulator accepts both and finishes them later, by webhook: without a
// receiver the job stays uploaded, both extensions pending.
func TestAITasksAndSavedExtensionArePending(t *testing.T) {
	t.Parallel()
	s := newStack(t)
	job := s.Enqueue(tasks.Upload{
		File: base64.StdEncoding.EncodeToString(ikqtest.PNG(t, 8, 8, 8)), FileName: "b.png", Extensions: aiTasksAndSaved(),
	})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusUploaded, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusUploaded {
		t.Fatalf("status %s, want uploaded; record:\n%s", job.Status, e2e.RecordText(job))
	}
	if want := map[string]string{"ai-tasks": "pending", "saved-extension": "pending"}; !maps.Equal(job.Extensions, want) {
		t.Errorf("extensions %v, want %v", job.Extensions, want)
	}
}
