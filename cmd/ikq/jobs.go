package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/ikq-dev/ikq/tasks"
)

// ikq list and ikq cancel: single jobs.

const listUsage = `usage: ikq list [flags]

Lists jobs: newest first, or a run's jobs oldest first with -run. A table, or one
job record per line with -json.`

func runList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	var c common
	c.register(fs)
	status := fs.String("status", "", "only jobs in this status: "+statusNames())
	run := fs.String("run", "", "only the jobs of this run")
	limit := fs.Int("limit", tasks.DefaultListLimit, fmt.Sprintf("jobs to list, 1 to %d", tasks.MaxListLimit))
	cursor := fs.String("cursor", "", "start after this cursor (printed at the end of the previous page)")
	asJSON := fs.Bool("json", false, "one job record per line instead of a table")
	pos, err := parseArgs(fs, args, stderr, listUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	o := tasks.ListOptions{Status: tasks.Status(*status), Limit: *limit, Cursor: *cursor}
	switch {
	case o.Status != "" && !o.Status.Valid():
		return usageError{fmt.Sprintf("-status %q: want one of %s", *status, statusNames())}
	case *limit < 1 || *limit > tasks.MaxListLimit:
		return usageError{fmt.Sprintf("-limit must be from 1 to %d", tasks.MaxListLimit)}
	case *run != "":
		if err := checkRunID(*run); err != nil {
			return err
		}
	}
	p, _, done, err := openProducer(&c)
	if err != nil {
		return err
	}
	defer done()
	var jobs []*tasks.Job
	var next string
	if *run != "" {
		jobs, next, err = p.RunJobs(ctx, *run, o)
		if errors.Is(err, tasks.ErrRunNotFound) {
			return runNotFound(*run)
		}
	} else {
		jobs, next, err = p.List(ctx, o)
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSONLines(stdout, jobs); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "JOB\tSTATUS\tATTEMPTS\tCREATED\tFILE\tERROR")
		for _, j := range jobs {
			msg := ""
			if j.Error != nil {
				msg = j.Error.Message
			}
			var req struct {
				File string `json:"file"`
			}
			_ = json.Unmarshal(j.Request, &req)
			fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\n", j.ID, j.Status, j.Attempts, j.MaxAttempts,
				j.CreatedAt.Local().Format("2006-01-02 15:04:05"), req.File, msg)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if next != "" {
		fmt.Fprintf(stderr, "more: add -cursor %s\n", next)
	}
	return nil
}

func statusNames() string {
	var names []string
	for _, s := range tasks.Statuses() {
		names = append(names, string(s))
	}
	return strings.Join(names, ", ")
}

const cancelUsage = `usage: ikq cancel [flags] JOB_ID

Cancels a job that has not been uploaded yet, and prints its record.`

func runCancel(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cancel", flag.ContinueOnError)
	var c common
	c.register(fs)
	pos, err := parseArgs(fs, args, stderr, cancelUsage)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: ikq cancel [flags] JOB_ID"}
	}
	p, _, done, err := openProducer(&c)
	if err != nil {
		return err
	}
	defer done()
	job, err := p.Cancel(ctx, pos[0])
	var te *tasks.TransitionError
	switch {
	case errors.Is(err, tasks.ErrNotFound):
		return jobNotFound(pos[0])
	case errors.As(err, &te):
		return fmt.Errorf("job %s is %s: only jobs not yet uploaded (queued, active or retrying) can be canceled", te.ID, te.From)
	case err != nil:
		return err
	}
	return printJob(stdout, job)
}
