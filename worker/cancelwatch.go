package worker

import (
	"context"
	"sync"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
)

// cancelWatch notices canceled jobs for all of a worker's running uploads with one
// read per tick: the statuses of every running job in one round trip, rather than
// a timer and a read per upload. (The producer also interrupts a running task
// through asynq's cancel channel; that is best effort, so this is the guarantee.)
type cancelWatch struct {
	mu      sync.Mutex
	running map[*watched]struct{}
}

type watched struct {
	id     string
	cancel context.CancelCauseFunc
}

// watchCancel returns a ctx that ends with errCanceledByProducer as soon as the job
// is seen canceled, and the func that stops watching it.
func (w *Worker) watchCancel(ctx context.Context, id string) (context.Context, func()) {
	ctx, cancel := context.WithCancelCause(ctx)
	e := &watched{id: id, cancel: cancel}
	c := &w.cancels
	c.mu.Lock()
	if c.running == nil {
		c.running = map[*watched]struct{}{}
	}
	c.running[e] = struct{}{}
	c.mu.Unlock()
	return ctx, func() {
		c.mu.Lock()
		delete(c.running, e)
		c.mu.Unlock()
		cancel(nil)
	}
}

// runCancelWatch checks the running jobs every CancelCheck until ctx ends.
func (w *Worker) runCancelWatch(ctx context.Context) {
	tick := time.NewTicker(w.cfg.CancelCheck)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			w.checkCanceled(ctx)
		}
	}
}

func (w *Worker) checkCanceled(ctx context.Context) {
	c := &w.cancels
	c.mu.Lock()
	entries := make([]*watched, 0, len(c.running))
	ids := make([]string, 0, len(c.running))
	for e := range c.running {
		entries = append(entries, e)
		ids = append(ids, e.id)
	}
	c.mu.Unlock()
	if len(ids) == 0 {
		return
	}
	statuses, err := w.store.Statuses(ctx, ids)
	if err != nil {
		return // Redis trouble: the next tick looks again
	}
	for _, e := range entries {
		if statuses[e.id] == jobstore.StatusCanceled {
			e.cancel(errCanceledByProducer)
		}
	}
}
