package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

func runEnqueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("enqueue", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	var c common
	c.register(fs)
	wait := fs.Bool("wait", false, "follow the job until it ends; exit 1 if it failed or was canceled")
	timeout := fs.Duration("wait-timeout", 0, "with -wait, give up after this long (0: no limit)")
	// A flag per job field, named after its JSON name in kebab case (tasks.Options).
	values := map[string]*string{}
	for _, o := range tasks.Options() {
		v := new(string)
		values[o.Flag()] = v
		fs.Func(o.Flag(), o.Usage, func(s string) error { *v = s; return nil })
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	spec, err := specFromFlags(values, set, time.Now())
	if err != nil {
		return usageError{err.Error()}
	}
	rdb, _, err := c.redis()
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	p, err := producer.New(c.producerConfig(producer.Config{Redis: rdb, Validate: tasks.ValidateOptions{AllowFile: true}}))
	if err != nil {
		return err
	}
	defer func() { _ = p.Close() }()
	job, err := p.Enqueue(ctx, *spec)
	var invalid *tasks.ValidationError
	if errors.As(err, &invalid) {
		return usageError{"the job is not valid:\n" + invalid.Error()}
	}
	if err != nil {
		return err
	}
	warnNoWorker(ctx, rdb, spec.QueueName(), stderr)
	if !*wait {
		return printJob(stdout, job)
	}
	fmt.Fprintf(stderr, "job %s queued; waiting for it to end\n", job.ID)
	return follow(ctx, p, job.ID, *timeout, stdout, stderr)
}

// specFromFlags builds the job spec from the flags that were set, through the job's
// own JSON decoder, so the command accepts exactly what the API accepts.
func specFromFlags(values map[string]*string, set map[string]bool, now time.Time) (*tasks.Upload, error) {
	doc := map[string]any{}
	for _, o := range tasks.Options() {
		if !set[o.Flag()] {
			continue
		}
		v, flag, field := *values[o.Flag()], o.Flag(), o.Name
		switch o.Kind() {
		case tasks.KindString, tasks.KindList:
			doc[field] = v
		case tasks.KindBool:
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("--%s: want true or false, got %q", flag, v)
			}
			doc[field] = b
		case tasks.KindInt:
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("--%s: want a whole number, got %q", flag, v)
			}
			doc[field] = n
		case tasks.KindJSON:
			if !json.Valid([]byte(v)) {
				return nil, fmt.Errorf("--%s: not valid JSON", flag)
			}
			doc[field] = json.RawMessage(v)
		case tasks.KindTime:
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				d, derr := time.ParseDuration(v)
				if derr != nil {
					return nil, fmt.Errorf("--%s: want an RFC 3339 time or a delay like 10m, got %q", flag, v)
				}
				t = now.Add(d)
			}
			doc[field] = t
		}
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return nil, err
	}
	spec, err := tasks.Decode(b)
	var de *tasks.DecodeError
	if errors.As(err, &de) {
		// Name the flag the user typed, not only the JSON field.
		top, _, _ := strings.Cut(de.Field, ".")
		top, _, _ = strings.Cut(top, "[")
		for _, o := range tasks.Options() {
			if o.Name == top {
				return nil, fmt.Errorf("--%s: %w", o.Flag(), err)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return spec, nil
}

// follow polls a job until it ends, then prints it. It reports each new state on stderr.
func follow(ctx context.Context, p *producer.Client, id string, timeout time.Duration, stdout, stderr io.Writer) error {
	if timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	seen := 0
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		job, err := p.Get(ctx, id)
		if err != nil {
			return err
		}
		for _, e := range job.Events[min(seen, len(job.Events)):] {
			fmt.Fprintf(stderr, "%s  %-9s %s\n", e.Time.Local().Format("15:04:05.000"), e.State, e.Message)
		}
		seen = len(job.Events)
		if job.Status.Final() {
			if err := printJob(stdout, job); err != nil {
				return err
			}
			return jobOutcome(job)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("stopped waiting for job %s (%s): %w", id, job.Status, ctx.Err())
		case <-tick.C:
		}
	}
}

func jobOutcome(job *jobstore.Job) error {
	switch job.Status {
	case jobstore.StatusFailed, jobstore.StatusCanceled:
		msg := string(job.Status)
		if job.Error != nil {
			msg += ": " + job.Error.Message
		}
		return fmt.Errorf("%w (%s)", errJobUnsuccessful, strings.TrimSpace(msg))
	}
	return nil
}

func printJob(w io.Writer, job *jobstore.Job) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(job)
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	var c common
	c.register(fs)
	fs.SetOutput(io.Discard)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stderr)
			fs.PrintDefaults()
			return err
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{"usage: ikq status [flags] JOB_ID"}
	}
	rdb, _, err := c.redis()
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	job, err := jobstore.New(rdb, jobstore.Options{Retention: c.store.retention}).Get(ctx, fs.Arg(0))
	if errors.Is(err, jobstore.ErrNotFound) {
		return fmt.Errorf("no job %s (finished jobs are kept for the retention period, 7 days by default)", fs.Arg(0))
	}
	if err != nil {
		return err
	}
	if err := printJob(stdout, job); err != nil {
		return err
	}
	return jobOutcome(job)
}
