package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// ikq retry: a job, or the failed jobs of a run.

const retryUsage = `usage: ikq retry [flags] JOB_ID
       ikq retry -run RUN_ID [flags]

Runs a failed or canceled job again from its first attempt and prints its record;
or, with -run, every failed job of a run (-canceled: the canceled ones too) and
prints the run. A run that uploaded from the machine it ran on (mode local) is
retried the same way: from this machine, with -concurrency upload slots, waiting
for the jobs to end. -wait waits for the run's jobs to end in any case; then the
exit status is 1 when a job failed or was canceled.`

func runRetry(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("retry", flag.ContinueOnError)
	var c common
	c.register(fs)
	run := fs.String("run", "", "retry the failed jobs of this run")
	canceled := fs.Bool("canceled", false, "with -run, retry its canceled jobs too")
	wait := fs.Bool("wait", false, "with -run, wait for the run's jobs to end")
	timeout := fs.Duration("wait-timeout", 0, "give up waiting after this long (0: no limit)")
	concurrency := fs.Int("concurrency", 8, "upload slots, when a local run is retried from this machine")
	pos, err := parseArgs(fs, args, stderr, retryUsage)
	if err != nil {
		return err
	}
	switch {
	case *run == "" && len(pos) != 1, *run != "" && len(pos) != 0:
		return usageError{"usage: ikq retry [flags] JOB_ID, or ikq retry -run RUN_ID"}
	case *concurrency < 1:
		return usageError{"-concurrency must be at least 1"}
	case *timeout < 0:
		return usageError{"-wait-timeout must not be negative"}
	}
	if *run == "" {
		return retryJob(ctx, &c, pos[0], stdout)
	}
	if err := checkRunID(*run); err != nil {
		return err
	}
	p, rdb, done, err := openProducer(&c)
	if err != nil {
		return err
	}
	defer done()
	r, err := p.Run(ctx, *run)
	if errors.Is(err, tasks.ErrRunNotFound) {
		return runNotFound(*run)
	}
	if err != nil {
		return err
	}
	if r.Mode == modeLocal {
		// Only this machine can read the run's files: its worker serves the run's queue.
		stop, err := startRetryWorker(&c, rdb, r, *concurrency, stderr)
		if err != nil {
			return err
		}
		defer stop()
		*wait = true
	}
	n, err := p.RetryRun(ctx, *run, producer.RetryRunOptions{Canceled: *canceled})
	what := "failed"
	if *canceled {
		what = "failed or canceled"
	}
	fmt.Fprintf(stderr, "ikq retry: run %s: %d %s jobs queued again\n", *run, n, what)
	if err != nil {
		return err
	}
	if *wait && n > 0 {
		if r, err = waitRun(ctx, p, *run, *timeout, stderr); err != nil {
			return err
		}
	} else if r, err = p.Run(ctx, *run); err != nil {
		return err
	}
	if err := printJSON(stdout, r); err != nil {
		return err
	}
	if *wait {
		return runOutcome(r)
	}
	return nil
}

// retryJob retries one job and prints its record.
func retryJob(ctx context.Context, c *common, id string, stdout io.Writer) error {
	p, _, done, err := openProducer(c)
	if err != nil {
		return err
	}
	defer done()
	job, err := p.Retry(ctx, id)
	var te *tasks.TransitionError
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		return jobNotFound(id)
	case errors.As(err, &te):
		return fmt.Errorf("job %s is %s: only failed or canceled jobs can be retried", te.ID, te.From)
	case errors.Is(err, producer.ErrStillStopping):
		return fmt.Errorf("job %s was canceled while it ran and its worker has not let go of it yet; retry in a few seconds", id)
	case err != nil:
		return err
	}
	return printJob(stdout, job)
}

// startRetryWorker runs, in this process, the worker of a run that uploads from the
// machine it ran on.
func startRetryWorker(c *common, rdb redis.UniversalClient, r *tasks.Run, concurrency int, stderr io.Writer) (func(), error) {
	redisURL := c.redisURL
	if redisURL == "" {
		redisURL = os.Getenv("REDIS_URL")
	}
	if redisURL == "" {
		redisURL = discoverRedis(context.Background())
	}
	target := resolveTarget(redisURL)
	if target.key == "" {
		return nil, usageError{fmt.Sprintf("run %s uploaded from the machine it ran on, and so does its retry: set IMAGEKIT_PRIVATE_KEY", r.ID)}
	}
	root := string(filepath.Separator)
	if r.Root != "" {
		if !isDir(r.Root) {
			return nil, fmt.Errorf("run %s read its files from %s, which is not a folder here: retry it on the machine that ran it", r.ID, r.Root)
		}
		root = r.Root
	}
	log, err := c.logger(stderr)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "ikq retry: run %s uploads from this machine: %d upload slots on queue %s\n", r.ID, concurrency, localQueue(r.ID))
	return startLocalWorker(rdb, target, localQueue(r.ID), root, concurrency, c.store.retention, slog.New(&minLevel{log.Handler(), slog.LevelWarn}))
}

// waitRun polls the run until none of its jobs is unfinished, saying on stderr how
// far it got whenever that changes.
func waitRun(ctx context.Context, p *producer.Client, id string, timeout time.Duration, stderr io.Writer) (*tasks.Run, error) {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	var last tasks.RunCounts
	for {
		r, err := p.Run(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.Counts != last {
			last = r.Counts
			fmt.Fprintf(stderr, "run %s: %d completed, %d failed, %d canceled, %d running\n", id, last.Completed, last.Failed, last.Canceled, last.Unfinished())
		}
		if r.Done {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("stopped waiting for run %s with %d jobs still running: %w", id, r.Counts.Unfinished(), ctx.Err())
		case <-tick.C:
		}
	}
}
