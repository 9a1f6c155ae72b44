package worker

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/tasks"
)

// TestUploadParamsCoverOptions sends, for each Upload API option of tasks.Options, a
// job setting it (to its example) through uploadParams and the real Upload API client,
// and expects the form field of that name in the request ImageKit receives.
func TestUploadParamsCoverOptions(t *testing.T) {
	t.Parallel()
	forms := make(chan map[string][]string, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		forms <- r.MultipartForm.Value
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"fileId":"f1","name":"a.jpg","filePath":"/a.jpg"}`))
	}))
	t.Cleanup(srv.Close)
	client := &imagekit.Client{UploadURL: srv.URL, PrivateKey: "private_test"}
	for _, o := range tasks.Options() {
		if !o.UploadAPI {
			continue
		}
		doc := map[string]json.RawMessage{"file": json.RawMessage(`"https://example.com/a.jpg"`), "fileName": json.RawMessage(`"a.jpg"`)}
		doc[o.Name] = json.RawMessage(o.Example)
		b, _ := json.Marshal(doc)
		spec, err := tasks.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		params, err := uploadParams("job1", spec)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		if _, err := client.Upload(context.Background(), imagekit.UploadRequest{FileText: spec.File, Params: params}); err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		if form := <-forms; len(form[o.Name]) == 0 || form[o.Name][0] == "" {
			t.Errorf("a job setting %s sent no %s form field to the Upload API (worker/upload.go uploadParams, internal/imagekit/upload.go fields)", o.Name, o.Name)
		}
	}
}
