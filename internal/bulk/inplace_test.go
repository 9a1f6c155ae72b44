package bulk

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

// recordingQueue stands for the producer and the files API, to see which path each
// item takes; cmd/ikq's tests run the real ones against the emulator.
type recordingQueue struct {
	mu        sync.Mutex
	inPlace   map[string]int64 // path in the media library → size
	refuse    string           // a path whose record fails
	enqueued  []string
	recorded  []string
	listedFor []string
}

func (q *recordingQueue) EnqueueBatch(_ context.Context, jobs []tasks.Upload) []Enqueued {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Enqueued, len(jobs))
	for i, u := range jobs {
		q.enqueued = append(q.enqueued, u.FileName)
		out[i] = Enqueued{ID: "q-" + u.FileName, Status: "queued", CreatedAt: time.Now()}
	}
	return out
}

func (q *recordingQueue) Get(context.Context, string) (*JobState, error) {
	return nil, errors.New("not used")
}

func (q *recordingQueue) Find(_ context.Context, run, folder, name string) (*InPlaceFile, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.listedFor = append(q.listedFor, run+" "+folder+"/"+name)
	size, ok := q.inPlace[folder+"/"+name]
	if !ok {
		return nil, nil
	}
	p := folder + "/" + name
	return &InPlaceFile{FileID: "id-" + name, FilePath: p, Size: size, Result: json.RawMessage(fmt.Sprintf(`{"fileId":"id-%s","filePath":%q,"size":%d}`, name, p, size))}, nil
}

func (q *recordingQueue) RecordSkipped(_ context.Context, jobs []tasks.Upload, files []InPlaceFile) []Enqueued {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]Enqueued, len(jobs))
	for i, u := range jobs {
		if files[i].FilePath == q.refuse {
			out[i].Err = errors.New("refused")
			continue
		}
		q.recorded = append(q.recorded, u.FileName)
		out[i] = Enqueued{ID: "s-" + u.FileName, Status: "completed", CreatedAt: time.Now(), State: &JobState{
			ID: "s-" + u.FileName, Status: "completed", Result: files[i].Result,
			Events: []string{"accepted", "skipped: " + files[i].FilePath + " already exists with the same size"}}}
	}
	return out
}

// TestInPlaceDecidesOnlyFilesOfTheSameSize: the files found in place with their size
// are recorded skipped; a file of another size, a missing one, one whose record fails,
// and every item of a run that asks for another ifExists or a callback are enqueued.
func TestInPlaceDecidesOnlyFilesOfTheSameSize(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	sizes := map[string]int64{}
	for _, name := range []string{"a/same.png", "a/bigger.png", "a/missing.png", "b/same.png", "b/refused.png"} {
		p := filepath.Join(dir, name)
		writePNG(t, p)
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		sizes[name] = fi.Size()
	}
	inPlace := map[string]int64{
		"/mig/a/same.png": sizes["a/same.png"], "/mig/a/bigger.png": sizes["a/bigger.png"] + 1,
		"/mig/b/same.png": sizes["b/same.png"], "/mig/b/refused.png": sizes["b/refused.png"],
	}
	run := func(t *testing.T, plan Plan) (*recordingQueue, *Summary, string) {
		t.Helper()
		q := &recordingQueue{inPlace: inPlace, refuse: "/mig/b/refused.png"}
		var stdout, stderr bytes.Buffer
		plan.Folder, plan.Run = "/mig", "r-1"
		sum, err := Run(t.Context(), Options{Source: dir, Plan: plan, Validate: tasks.ValidateOptions{AllowFile: true},
			Jobs: q, InPlace: q, Stdout: &stdout, Stderr: &stderr})
		if err != nil {
			t.Fatalf("Run: %v\n%s", err, stderr.String())
		}
		slices.Sort(q.enqueued)
		slices.Sort(q.recorded)
		return q, sum, stdout.String()
	}

	q, sum, stdout := run(t, Plan{})
	if want := []string{"same.png", "same.png"}; !slices.Equal(q.recorded, want) {
		t.Errorf("recorded skipped %v, want %v", q.recorded, want)
	}
	if want := []string{"bigger.png", "missing.png", "refused.png"}; !slices.Equal(q.enqueued, want) {
		t.Errorf("enqueued %v, want %v", q.enqueued, want)
	}
	if sum.Items != 5 || sum.Enqueued != 5 || sum.Completed != 2 || sum.Skipped != 2 {
		t.Errorf("summary %+v; want 5 items, 5 enqueued, 2 completed and skipped", sum)
	}
	if n := bytes.Count([]byte(stdout), []byte(`"skipped":true`)); n != 2 {
		t.Errorf("stdout marks %d items skipped, want 2:\n%s", n, stdout)
	}
	if !slices.Contains(q.listedFor, "r-1 /mig/a/same.png") {
		t.Errorf("lookups %v: want them by run, folder and name", q.listedFor)
	}

	for _, plan := range []Plan{{IfExists: tasks.IfExistsVersion}, {CallbackURL: "https://example.com/cb"}} {
		q, _, _ := run(t, plan)
		if len(q.recorded) != 0 || len(q.enqueued) != 5 {
			t.Errorf("plan %+v: recorded %v, enqueued %v; want every item enqueued", plan, q.recorded, q.enqueued)
		}
	}
}
