package producer

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"

	"github.com/ikq-dev/ikq/tasks"
)

// Result is one enqueued job: the job, or why it was not enqueued.
type Result struct {
	Job *tasks.Job
	// Existed: the job's IdempotencyKey named an earlier job, which Job is.
	Existed bool
	Err     error
}

// EnqueueBatch enqueues each job on its own: one bad job does not stop the others.
// Results are in input order. It is EnqueueEach, collected.
func (c *Client) EnqueueBatch(ctx context.Context, jobs []tasks.Upload) []Result {
	out := make([]Result, len(jobs))
	for i, r := range c.EnqueueEach(ctx, jobs) {
		out[i] = r
	}
	return out
}

// EnqueueEach enqueues each job on its own, as EnqueueBatch does, and yields each
// job's index and result in input order, a chunk of jobs at a time as soon as they
// are done. The jobs are recorded batchChunk at a time, each chunk in a few Redis
// round trips, and their tasks queued batchInFlight at a time while the next chunk
// is recorded; the jobs' ids follow their order. Every job is enqueued even when
// the loop stops early.
func (c *Client) EnqueueEach(ctx context.Context, jobs []tasks.Upload) iter.Seq2[int, Result] {
	return func(yield func(int, Result) bool) {
		out := make([]Result, len(jobs))
		slots := make(chan struct{}, batchInFlight)
		queued := make([]sync.WaitGroup, (len(jobs)+batchChunk-1)/batchChunk)
		stopped := false
		// emit waits for chunk k's tasks, then yields its results.
		emit := func(k int) {
			queued[k].Wait()
			for i := k * batchChunk; !stopped && i < min((k+1)*batchChunk, len(jobs)); i++ {
				stopped = !yield(i, out[i])
			}
		}
		for k := range queued {
			lo, hi := k*batchChunk, min((k+1)*batchChunk, len(jobs))
			c.recordChunk(ctx, jobs[lo:hi], out[lo:hi], &queued[k], slots)
			if k > 0 {
				emit(k - 1)
			}
		}
		if len(queued) > 0 {
			emit(len(queued) - 1)
		}
	}
}

// recordChunk validates and records jobs, then queues the task of each job
// recorded, each in a goroutine of queued holding one of slots. Results land in out.
func (c *Client) recordChunk(ctx context.Context, jobs []tasks.Upload, out []Result, queued *sync.WaitGroup, slots chan struct{}) {
	var (
		idx     []int // the jobs that passed validation, by index in jobs
		records []*tasks.Job
		specs   []json.RawMessage
	)
	for i, u := range jobs {
		job, spec, err := c.prepare(u)
		if err != nil {
			out[i].Err = err
			continue
		}
		idx, records, specs = append(idx, i), append(records, job), append(specs, spec)
	}
	for k, cr := range c.store.CreateMany(ctx, records, specs) {
		i := idx[k]
		if cr.Err != nil {
			out[i].Err = fmt.Errorf("producer: recording job: %w", cr.Err)
			continue
		}
		slots <- struct{}{}
		queued.Go(func() {
			defer func() { <-slots }()
			out[i] = c.queued(ctx, Result{Job: cr.Job, Existed: cr.Existed}, jobs[i].RunAt)
		})
	}
}

const (
	// batchChunk is how many jobs EnqueueEach records together: one pipelined
	// round trip of creates (jobstore.CreateMany).
	batchChunk = 128
	// batchInFlight is how many tasks of a batch are queued at once: each is a
	// round trip of asynq's.
	batchInFlight = 16
)
