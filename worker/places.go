package worker

import "context"

// A worker runs Config.Concurrency uploads at once, and asynq hands it a few tasks
// more (staged): their Redis work (taking the task, making the job active,
// recording the outcome, marking the task done) happens while the places are busy
// uploading, instead of between one upload and the next in the same place. With
// uploads of 20 ms, that work would otherwise leave each place idle a tenth of
// the time.

// staged is how many tasks beyond its upload places a worker of concurrency n
// takes from the queue: a quarter more, at least two.
func staged(n int) int { return max(2, n/4) }

// uploadPlace waits for one of the worker's upload places, until ctx ends (a
// cancel or the end of the shutdown grace). The release it returns gives the place
// back.
func (w *Worker) uploadPlace(ctx context.Context) (release func(), err error) {
	select {
	case w.uploads <- struct{}{}:
		return func() { <-w.uploads }, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
}
