package bulk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

const (
	// batchSize is how many jobs one EnqueueBatch call gets. With Concurrency calls
	// at once, it bounds the items held while enqueueing.
	batchSize = 100
	// defaultWindow is how many jobs Wait follows at once; enqueueing waits for room.
	defaultWindow = 10000
	// maxListed is how many invalid items the run names one by one; stdout has all.
	maxListed = 10
	// Wait reads the jobs still running in rounds, at most pollEvery apart and at
	// least minPollEvery, pausing pollPerJob for each job it follows.
	pollEvery    = 500 * time.Millisecond
	minPollEvery = 20 * time.Millisecond
	pollPerJob   = time.Millisecond
	// maxPollFailures is how many rounds in a row Wait may fail to read any job
	// (Redis down) before it gives up.
	maxPollFailures = 10
)

// Options configure a run. Jobs, Stdout and Stderr are required unless DryRun.
type Options struct {
	// Source is a folder, a manifest (.csv, .jsonl, .ndjson) or "-" for a manifest
	// on Stdin; Format names the manifest's format when its name does not.
	Source string
	Format string
	Stdin  io.Reader

	Plan     Plan
	Validate tasks.ValidateOptions

	// Strict enqueues nothing when any item is invalid (the source is read twice).
	Strict bool
	// DryRun prints the specs that would be enqueued and enqueues nothing.
	DryRun bool
	// Wait follows every job to its end; WaitTimeout bounds the whole run (0: none).
	Wait        bool
	WaitTimeout time.Duration
	// Concurrency is the number of batches enqueued, and jobs read, at once; default 8.
	Concurrency int
	// Window is how many jobs Wait follows at once; default 10000.
	Window int

	// Buckets lists bucket prefixes (s3://, gs://, azblob://).
	Buckets Lister
	// Preflight, with DryRun, checks what ImageKit would refuse and what it holds.
	Preflight *Preflight

	Jobs Jobs
	// InPlace, when set, completes the items already in place without a task.
	InPlace InPlace
	Results ResultWriter // optional: every item's result, written as it is known

	Stdout io.Writer // one JSON line per item
	Stderr io.Writer // progress, notes and the summary
	// ProgressEvery spaces progress lines when Stderr is not a terminal; default 5s.
	ProgressEvery time.Duration
}

// Summary counts a run's items by outcome.
type Summary struct {
	Items, Invalid, Enqueued, Existed, NotEnqueued int
	Excluded                                       int // left out by Include/Exclude, not counted in Items
	Completed, Skipped, Failed, Canceled, Running  int
}

// Run moves every item of the source: see the package doc. The error says why the
// run did not fully succeed; a *UsageError is the user's mistake.
func Run(ctx context.Context, o Options) (*Summary, error) {
	if o.Concurrency <= 0 {
		o.Concurrency = 8
	}
	if o.Window <= 0 {
		o.Window = defaultWindow
	}
	if o.ProgressEvery <= 0 {
		o.ProgressEvery = 5 * time.Second
	}
	if o.Stdout == nil {
		o.Stdout = io.Discard
	}
	if o.Stderr == nil {
		o.Stderr = io.Discard
	}
	src, dir, err := openSource(o.Source, o.Format, o.Stdin, o.Buckets)
	if err != nil {
		return nil, err
	}
	if dir != nil {
		n := 0
		dir.skipped = func(s string) {
			if n++; n <= maxListed {
				fmt.Fprintf(o.Stderr, "skipped %s\n", s)
			}
		}
	}
	if o.Strict || o.DryRun {
		if m, ok := src.(*manifestSource); ok && m.path == "" && o.Strict && !o.DryRun {
			// stdin can be read once: keep it for the second pass.
			spooled, cleanup, err := spool(m.r)
			if err != nil {
				return nil, err
			}
			defer cleanup()
			m.path, m.r = spooled, nil
		}
	}
	if o.DryRun {
		return dryRun(ctx, src, &o)
	}
	if o.Strict {
		var sum Summary
		err := src.items(ctx, func(it *item) error {
			o.tally(&sum, it)
			return nil
		})
		if err != nil {
			return nil, err
		}
		if sum.Invalid > 0 {
			fmt.Fprintf(o.Stderr, "%s: nothing enqueued (-strict)\n", plural(sum.Invalid, "invalid item"))
			return &sum, fmt.Errorf("%d of %d items are invalid", sum.Invalid, sum.Items)
		}
	}
	if o.Jobs == nil {
		return nil, errors.New("bulk: Options.Jobs is required")
	}
	return enqueueRun(ctx, src, &o)
}

// tally counts it in sum and prepares its job. It reports false for an item left
// out or invalid; the first maxListed invalid ones are reported on o.Stderr.
func (o *Options) tally(sum *Summary, it *item) bool {
	if o.Plan.excludes(it) {
		sum.Excluded++
		return false
	}
	sum.Items++
	if o.Plan.prepare(it, o.Validate); it.err != nil {
		if sum.Invalid++; sum.Invalid <= maxListed {
			fmt.Fprintf(o.Stderr, "invalid: %v\n", it.err)
		}
		return false
	}
	return true
}

// spool copies r to a temporary file and returns its path.
func spool(r io.Reader) (string, func(), error) {
	f, err := os.CreateTemp("", "ikq-bulk-*.manifest")
	if err != nil {
		return "", nil, err
	}
	cleanup := func() { _ = os.Remove(f.Name()) }
	if _, err := io.Copy(f, r); err != nil {
		_ = f.Close() // the copy failed already; the file goes
		cleanup()
		return "", nil, fmt.Errorf("reading stdin: %w", err)
	}
	if err := f.Close(); err != nil {
		cleanup()
		return "", nil, err
	}
	return f.Name(), cleanup, nil
}

// dryRun prints the specs of the valid items as JSON lines and enqueues nothing. URL
// secrets and inline bytes are redacted. Apart from those, the output is a manifest
// that a later run can read back.
func dryRun(ctx context.Context, src source, o *Options) (*Summary, error) {
	enc := json.NewEncoder(o.Stdout)
	enc.SetEscapeHTML(false)
	var sum Summary
	var pre *preflight
	if o.Preflight != nil {
		pre = newPreflight(o.Preflight)
	}
	err := src.items(ctx, func(it *item) error {
		if !o.tally(&sum, it) {
			return nil
		}
		if pre != nil {
			pre.check(ctx, it)
		}
		r := it.job.Redacted()
		return enc.Encode(&r)
	})
	if err != nil {
		return nil, err
	}
	if pre != nil {
		pre.report(o.Stderr)
	}
	fmt.Fprintf(o.Stderr, "%s: %d would be enqueued, %d invalid%s (dry run: nothing enqueued)\n",
		plural(sum.Items, "job"), sum.Items-sum.Invalid, sum.Invalid, excludedNote(sum.Excluded))
	if sum.Invalid > 0 {
		return &sum, fmt.Errorf("%d of %d items are invalid", sum.Invalid, sum.Items)
	}
	return &sum, nil
}

// enqueueRun streams the items into batches, enqueues them Concurrency batches at a
// time and, with Wait, follows the jobs.
func enqueueRun(ctx context.Context, src source, o *Options) (*Summary, error) {
	if o.WaitTimeout > 0 && o.Wait {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, o.WaitTimeout, errWaitTimeout)
		defer cancel()
	}
	ctx, abort := context.WithCancelCause(ctx)
	defer abort(nil)

	label := "enqueued"
	if o.Wait {
		label = "finished"
	}
	s := newSink(o, newProgress(o.Stderr, label, o.ProgressEvery))
	var f *follower
	if o.Wait {
		f = newFollower(o, s)
		f.start(ctx)
	}
	start := time.Now()
	batches := make(chan []*item)
	readErr := make(chan error, 1)
	go func() {
		defer close(batches)
		var batch []*item
		err := src.items(ctx, func(it *item) error {
			if o.Plan.excludes(it) {
				s.exclude()
				return nil
			}
			s.read(it)
			if o.Plan.prepare(it, o.Validate); it.err != nil {
				s.invalid(it)
				return nil
			}
			if batch = append(batch, it); len(batch) < batchSize {
				return nil
			}
			select {
			case batches <- batch:
				batch = nil
				return nil
			case <-ctx.Done():
				return context.Cause(ctx)
			}
		})
		if err == nil && len(batch) > 0 {
			select {
			case batches <- batch:
			case <-ctx.Done():
				err = context.Cause(ctx)
			}
		}
		s.sourceDone()
		readErr <- err
	}()

	var wg sync.WaitGroup
	for range o.Concurrency {
		wg.Go(func() {
			for b := range batches {
				if o.InPlace != nil {
					b = recordInPlace(ctx, o, s, start, b)
					if len(b) == 0 {
						continue
					}
				}
				specs := make([]tasks.Upload, len(b))
				for i, it := range b {
					specs[i] = *it.job
				}
				res := o.Jobs.EnqueueBatch(ctx, specs)
				failed := 0
				for i, r := range res {
					it := b[i]
					if r.Err != nil {
						failed++
						s.notEnqueued(it, r.Err)
						continue
					}
					existed := r.CreatedAt.Before(start) || r.Status != "queued"
					s.enqueued(it, r, existed)
					if f != nil {
						f.add(ctx, it, r.ID, existed)
					} else {
						s.emit(it, r.ID, r.Status, existed, nil)
					}
				}
				var ve *tasks.ValidationError
				if failed == len(b) && len(res) > 0 && !errors.As(res[0].Err, &ve) && ctx.Err() == nil {
					// The queue itself is failing (Redis down): stop rather than fail
					// every item with the same words.
					abort(&QueueError{Run: o.Plan.Run, Err: res[0].Err})
				}
			}
		})
	}
	wg.Wait()
	rerr := <-readErr
	var waitErr error
	if f != nil {
		waitErr = f.finish()
	}
	s.progress.finish()
	sum := s.summary()
	if err := s.flush(); err != nil {
		return sum, err
	}
	s.report(o.Wait)

	cause := context.Cause(ctx)
	var qe *QueueError
	switch {
	case errors.As(cause, &qe):
		return sum, qe
	case errors.Is(cause, errWaitTimeout):
		return sum, fmt.Errorf("stopped waiting after %s with %s still running", o.WaitTimeout, plural(sum.Running, "job"))
	case cause != nil:
		return sum, &CanceledError{Run: o.Plan.Run, Enqueued: sum.Enqueued + sum.Existed, Read: sum.Items}
	case rerr != nil:
		return sum, rerr
	case waitErr != nil:
		return sum, waitErr
	}
	bad := sum.Invalid + sum.NotEnqueued
	if o.Wait {
		bad = sum.Items - sum.Completed
	}
	if bad > 0 {
		verb := "were not enqueued"
		if o.Wait {
			verb = "did not complete"
		}
		return sum, fmt.Errorf("%d of %d items %s", bad, sum.Items, verb)
	}
	return sum, nil
}

var errWaitTimeout = errors.New("wait timeout")

// recordInPlace records the items of b whose file is in place as completed, and
// returns the others, to enqueue. An item the record refuses is enqueued instead: the
// worker checks its destination all the same.
func recordInPlace(ctx context.Context, o *Options, s *sink, start time.Time, b []*item) []*item {
	rest, skip, files := splitInPlace(ctx, o.InPlace, o.Plan.Run, b)
	if len(skip) == 0 {
		return b
	}
	specs := make([]tasks.Upload, len(skip))
	for i, it := range skip {
		specs[i] = *it.job
	}
	for i, r := range o.InPlace.RecordSkipped(ctx, specs, files) {
		it := skip[i]
		if r.Err != nil || r.State == nil {
			rest = append(rest, it)
			continue
		}
		existed := r.CreatedAt.Before(start)
		s.enqueued(it, r, existed)
		s.emit(it, r.ID, r.Status, existed, r.State)
	}
	return rest
}

// QueueError is a run stopped because the queue refused a whole batch for a reason
// that is not the jobs' own (Redis unreachable, out of memory, read-only).
type QueueError struct {
	Run string
	Err error
}

func (e *QueueError) Error() string {
	return fmt.Sprintf("enqueueing stopped: the queue refused a whole batch (%v); once Redis is healthy, run the same command with --run %s to go on", e.Err, e.Run)
}
func (e *QueueError) Unwrap() error { return e.Err }

// CanceledError is a run interrupted (Ctrl-C, SIGTERM) before it was done.
type CanceledError struct {
	Run            string
	Enqueued, Read int
}

func (e *CanceledError) Error() string {
	return fmt.Sprintf("the run was interrupted after enqueuing %d of the %d items read; run the same command with --run %s to go on where it stopped", e.Enqueued, e.Read, e.Run)
}
