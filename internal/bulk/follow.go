package bulk

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// follower follows enqueued jobs until each ends, at most Window at once, and hands
// each outcome to the sink as soon as it is read.
type follower struct {
	o       *Options
	s       *sink
	slots   chan struct{}
	mu      sync.Mutex
	pending map[string][]followed
	closed  bool
	over    bool // the loop has ended: nothing more is followed
	done    chan struct{}
	err     error
}

type followed struct {
	it      *item
	existed bool
}

func newFollower(o *Options, s *sink) *follower {
	f := &follower{o: o, s: s, slots: make(chan struct{}, o.Window), pending: map[string][]followed{}, done: make(chan struct{})}
	return f
}

// start begins polling; it ends when finish was called and nothing is pending, or
// when ctx ends.
func (f *follower) start(ctx context.Context) {
	go func() {
		defer close(f.done)
		f.err = f.loop(ctx)
	}()
}

// add follows the job id of it; it waits for room in the window.
func (f *follower) add(ctx context.Context, it *item, id string, existed bool) {
	stopped := errors.New("not followed: the run stopped following its jobs")
	select {
	case f.slots <- struct{}{}:
	case <-ctx.Done():
		f.s.gone(it, id, stopped, true)
		return
	case <-f.done:
		f.s.gone(it, id, stopped, true)
		return
	}
	f.mu.Lock()
	if f.over {
		f.mu.Unlock()
		<-f.slots
		f.s.gone(it, id, stopped, true)
		return
	}
	f.pending[id] = append(f.pending[id], followed{it, existed})
	f.mu.Unlock()
}

// finish says no more jobs come, and waits until the followed ones end or ctx does.
func (f *follower) finish() error {
	f.mu.Lock()
	f.closed = true
	f.mu.Unlock()
	<-f.done
	return f.err
}

func (f *follower) loop(ctx context.Context) error {
	failedRounds := 0
	t := time.NewTimer(pollPause(0))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			f.abandon(context.Cause(ctx))
			return nil
		case <-t.C:
		}
		f.mu.Lock()
		ids := make([]string, 0, len(f.pending))
		for id := range f.pending {
			ids = append(ids, id)
		}
		closed := f.closed
		f.mu.Unlock()
		// The pause runs from the end of the round: a slow round is not followed at once
		// by another.
		if len(ids) == 0 {
			if closed {
				return nil
			}
			t.Reset(pollPause(0))
			continue
		}
		err := f.poll(ctx, ids)
		t.Reset(pollPause(len(ids)))
		if err != nil {
			if failedRounds++; failedRounds >= maxPollFailures {
				err = fmt.Errorf("cannot read the jobs: %w", err)
				f.abandon(err)
				return err
			}
		} else {
			failedRounds = 0
		}
	}
}

// pollPause is the pause before the next round when n jobs are followed. A round
// reads every one of them, so the pause grows with n: the reads per second stay
// bounded (at most one per pollPerJob), and the last jobs of a run, few by then, are
// seen ending within tens of milliseconds rather than a whole pollEvery later.
func pollPause(n int) time.Duration {
	return min(max(time.Duration(n)*pollPerJob, minPollEvery), pollEvery)
}

// poll reads each job once, Concurrency at a time. The error is the last read that
// failed, when no read succeeded.
func (f *follower) poll(ctx context.Context, ids []string) error {
	var (
		mu      sync.Mutex
		ok      int
		lastErr error
		wg      sync.WaitGroup
		next    = make(chan string)
	)
	for range f.o.Concurrency {
		wg.Go(func() {
			for id := range next {
				job, err := f.o.Jobs.Get(ctx, id)
				switch {
				case errors.Is(err, ErrJobGone):
					f.end(id, func(fl followed) { f.s.gone(fl.it, id, ErrJobGone, false) })
				case err != nil:
					mu.Lock()
					lastErr = err
					mu.Unlock()
					continue
				case job.Final():
					f.end(id, func(fl followed) { f.s.emit(fl.it, id, job.Status, fl.existed, job) })
				}
				mu.Lock()
				ok++
				mu.Unlock()
			}
		})
	}
	for _, id := range ids {
		select {
		case next <- id:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(next)
	wg.Wait()
	if ok == 0 && lastErr != nil {
		return lastErr
	}
	return nil
}

// end stops following id and reports each of its items.
func (f *follower) end(id string, report func(followed)) {
	f.mu.Lock()
	items := f.pending[id]
	delete(f.pending, id)
	f.mu.Unlock()
	for _, fl := range items {
		report(fl)
		<-f.slots
	}
}

// abandon reports the jobs still followed as running.
func (f *follower) abandon(cause error) {
	f.mu.Lock()
	f.over = true
	pending := f.pending
	f.pending = map[string][]followed{}
	f.mu.Unlock()
	for id, items := range pending {
		for _, fl := range items {
			f.s.gone(fl.it, id, fmt.Errorf("still running when the run stopped (%w)", cause), true)
			<-f.slots
		}
	}
}
