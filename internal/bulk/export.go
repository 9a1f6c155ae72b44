package bulk

import (
	"context"
	"encoding/json"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/ikq-dev/ikq/tasks"
)

// StateOf is what a run reads of a job record.
func StateOf(job *tasks.Job) *JobState {
	st := &JobState{ID: job.ID, Status: string(job.Status), Attempts: job.Attempts, Result: job.Result}
	if job.Error != nil {
		st.Error = job.Error.Message
	}
	for _, e := range job.Events {
		st.Events = append(st.Events, e.Message)
	}
	return st
}

// resultOf is the result of a job that ended (or, for one still running, its
// status): where it landed, or why it did not.
func resultOf(id string, job *JobState) Result {
	r := Result{Status: job.Status, JobID: id, Attempts: job.Attempts}
	var res fileResult
	_ = json.Unmarshal(job.Result, &res)
	r.FileID, r.FilePath, r.URL, r.Size = res.FileID, res.FilePath, res.URL, res.Size
	switch job.Status {
	case "completed":
		r.Skipped = job.skipped()
	case "canceled":
		r.Error = "canceled"
	case "failed":
		r.Error = job.Error
		if r.Error == "" {
			r.Error = job.Status
		}
	}
	return r
}

// RunResult is the result of one job of a run as `ikq results` and
// GET /v1/runs/{id}/results export it: the same row --results wrote when the run
// followed its jobs. A folder run's files are named as the run named them (the
// folder as given, then the path under it); other sources by the job's file,
// redacted.
func RunResult(run *tasks.Run, job *tasks.Job) Result {
	r := resultOf(job.ID, StateOf(job))
	if r.Status != "completed" && r.Status != "failed" && r.Status != "canceled" {
		r.Error = "" // still running: no outcome yet
	}
	var req struct {
		File string `json:"file"`
	}
	_ = json.Unmarshal(job.Request, &req)
	r.Source = req.File
	if run != nil && run.Root != "" && strings.HasPrefix(req.File, "file:") {
		if u, err := url.Parse(req.File); err == nil {
			root := filepath.ToSlash(run.Root)
			if rel, ok := strings.CutPrefix(u.Path, strings.TrimSuffix(root, "/")+"/"); ok {
				r.Source = filepath.Join(run.Source, filepath.FromSlash(rel))
			}
		}
	}
	return r
}

// RunPages reads a page of a run's jobs, oldest first (producer.Client.RunJobs).
type RunPages func(ctx context.Context, id string, o tasks.ListOptions) ([]*tasks.Job, string, error)

// Export writes the result of every job of run to w, a page at a time, and flushes
// it. It returns how many it wrote.
func Export(ctx context.Context, run *tasks.Run, pages RunPages, w ResultWriter) (int, error) {
	n, cursor := 0, ""
	for {
		jobs, next, err := pages(ctx, run.ID, tasks.ListOptions{Limit: tasks.MaxListLimit, Cursor: cursor})
		if err != nil {
			return n, err
		}
		for _, j := range jobs {
			if err := w.Write(RunResult(run, j)); err != nil {
				return n, err
			}
			n++
		}
		if next == "" {
			return n, w.Flush()
		}
		cursor = next
	}
}
