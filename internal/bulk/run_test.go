package bulk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

// interruptingJobs stands for the queue where the interruption must come at a known
// point: it takes the first batch, then cancels the run as Ctrl-C would, and refuses
// later ones the way the producer does once its context has ended. The real queue
// runs in cmd/ikq's tests.
type interruptingJobs struct {
	cancel context.CancelFunc
	mu     sync.Mutex
	n      int
}

func (j *interruptingJobs) EnqueueBatch(ctx context.Context, jobs []tasks.Upload) []Enqueued {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]Enqueued, len(jobs))
	for i := range jobs {
		if err := ctx.Err(); err != nil {
			out[i].Err = fmt.Errorf("producer: recording job: %w", err)
			continue
		}
		j.n++
		out[i] = Enqueued{ID: fmt.Sprint("job-", j.n), Status: "queued", CreatedAt: time.Now()}
	}
	j.cancel()
	return out
}

func (j *interruptingJobs) Get(context.Context, string) (*JobState, error) {
	return nil, errors.New("not used")
}

// TestRunInterrupted: an interrupted run ends with one sentence that says how far it
// got and how to go on, not "context canceled" once per item.
func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for i := range 2*batchSize + 5 {
		writePNG(t, filepath.Join(dir, fmt.Sprintf("f%03d.png", i)))
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	jobs := &interruptingJobs{cancel: cancel}
	var stdout, stderr bytes.Buffer
	sum, err := Run(ctx, Options{
		Source: dir, Plan: Plan{Folder: "/", Run: "r-1"}, Validate: tasks.ValidateOptions{AllowFile: true},
		Concurrency: 1, Jobs: jobs, Stdout: &stdout, Stderr: &stderr,
	})
	var ce *CanceledError
	if !errors.As(err, &ce) {
		t.Fatalf("Run = %v, want a *CanceledError\nstderr:\n%s", err, stderr.String())
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.Contains(msg, fmt.Sprintf("after enqueuing %d of the", batchSize)) || !strings.Contains(msg, "--run r-1") {
		t.Errorf("error %q: want one sentence with the %d enqueued and --run r-1", msg, batchSize)
	}
	if n := strings.Count(stderr.String(), "context canceled"); n > 1 {
		t.Errorf("stderr says context canceled %d times:\n%s", n, stderr.String())
	}
	if sum.Enqueued != batchSize {
		t.Errorf("summary %+v, want %d enqueued", sum, batchSize)
	}
}
