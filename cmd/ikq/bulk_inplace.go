package main

import (
	"context"

	"github.com/ikq-dev/ikq/internal/bulk"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/ledger"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// inPlace is bulk's fast path on the files API and the producer: the folder listings
// a worker's ifExists would read, read once a run here, and the jobs already in place
// recorded completed without a task.
type inPlace struct {
	p     *producer.Client
	ik    *imagekit.Client
	cache *ledger.Cache
}

func (ip inPlace) Find(ctx context.Context, run, folder, name string) (*bulk.InPlaceFile, error) {
	f, err := ip.cache.Lookup(ctx, ip.ik, run, folder, name, false)
	if err != nil || f == nil {
		return nil, err
	}
	// The file's object as the files API returned it: what a worker that skips the
	// job records as its result.
	return &bulk.InPlaceFile{FileID: f.FileID, FilePath: f.FilePath, Size: f.Size, Result: f.Raw}, nil
}

func (ip inPlace) RecordSkipped(ctx context.Context, jobs []tasks.Upload, files []bulk.InPlaceFile) []bulk.Enqueued {
	in := make([]producer.SkippedFile, len(files))
	for i, f := range files {
		in[i] = producer.SkippedFile{FileID: f.FileID, FilePath: f.FilePath, Result: f.Result}
	}
	res := ip.p.RecordSkipped(ctx, jobs, in)
	out := make([]bulk.Enqueued, len(res))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = r.Err
			continue
		}
		out[i] = bulk.Enqueued{ID: r.Job.ID, Status: string(r.Job.Status), CreatedAt: r.Job.CreatedAt}
		if r.Job.Status.Final() {
			out[i].State = bulk.StateOf(r.Job)
		}
	}
	return out
}
