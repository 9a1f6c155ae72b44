package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/bulk"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// ikq runs, ikq run show and ikq results look at runs; they and the commands of single
// jobs (jobs.go, retry.go) read and write the job records in Redis through the
// producer, as the REST API does.

// runHints is what ikq bulk prints at its end: the run's id and the commands that
// inspect, export and retry it.
func runHints(run string, failures bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: ikq run show %s (counts and failures)\n", run, run)
	fmt.Fprintf(&b, "  export: ikq results --run %s --format csv --output %s.csv\n", run, run)
	if failures {
		fmt.Fprintf(&b, "  re-run the failed items: ikq retry --run %s\n", run)
	}
	return b.String()
}

// parseArgs parses flags that may come before and after the positional arguments,
// which it returns. Flag errors are usage errors; -h prints the usage and the flags.
func parseArgs(fs *flag.FlagSet, args []string, stderr io.Writer, usage string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprintln(stderr, usage)
				fs.SetOutput(stderr)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			return pos, resolveSettings(fs)
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// openProducer connects to the configured Redis.
func openProducer(c *common) (*producer.Client, redis.UniversalClient, func(), error) {
	rdb, _, err := c.redis()
	if err != nil {
		return nil, nil, nil, err
	}
	p, err := producer.New(c.producerConfig(producer.Config{Redis: rdb}))
	if err != nil {
		_ = rdb.Close()
		return nil, nil, nil, err
	}
	return p, rdb, func() { _ = p.Close(); _ = rdb.Close() }, nil
}

// runNotFound says what a missing run means.
func runNotFound(id string) error {
	return fmt.Errorf("no run %s in this Redis: a run is kept until the retention period (7 days by default) after its last job ended, and a run without Redis (-mode embedded) is not kept at all; run the same ikq bulk command again, it uploads only what is missing", id)
}

// jobNotFound says what a missing job means.
func jobNotFound(id string) error {
	return fmt.Errorf("no job %s (finished jobs are kept for the retention period, 7 days by default)", id)
}

// checkRunID refuses what cannot be a run id before Redis is asked.
func checkRunID(id string) error {
	if !tasks.ValidRunID(id) {
		return usageError{fmt.Sprintf("%q is not a run id: letters, digits, . _ - and :, starting with a letter or digit, at most %d", id, tasks.MaxRunIDLen)}
	}
	return nil
}

const runsUsage = `usage: ikq runs [flags]

Lists the runs (ikq bulk's, and any jobs enqueued with a run), newest first, with
their jobs' counts by status: a table, or one JSON document per line with -json.`

func runRuns(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("runs", flag.ContinueOnError)
	var c common
	c.register(fs)
	limit := fs.Int("limit", 20, fmt.Sprintf("runs to list, 1 to %d", tasks.MaxListLimit))
	cursor := fs.String("cursor", "", "start after this cursor (printed at the end of the previous page)")
	asJSON := fs.Bool("json", false, "one JSON document per run instead of a table")
	pos, err := parseArgs(fs, args, stderr, runsUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *limit < 1 || *limit > tasks.MaxListLimit {
		return usageError{fmt.Sprintf("-limit must be from 1 to %d", tasks.MaxListLimit)}
	}
	p, _, done, err := openProducer(&c)
	if err != nil {
		return err
	}
	defer done()
	runs, next, err := p.Runs(ctx, tasks.RunListOptions{Limit: *limit, Cursor: *cursor})
	if err != nil {
		return err
	}
	if *asJSON {
		if err := writeJSONLines(stdout, runs); err != nil {
			return err
		}
	} else {
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "RUN\tCREATED\tMODE\tJOBS\tRUNNING\tCOMPLETED\tFAILED\tCANCELED\tSOURCE")
		for _, r := range runs {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%d\t%d\t%d\t%s\n", r.ID, r.CreatedAt.Local().Format("2006-01-02 15:04"),
				dash(r.Mode), r.Total, r.Counts.Unfinished(), r.Counts.Completed, r.Counts.Failed, r.Counts.Canceled, dash(r.Source))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if next != "" {
		fmt.Fprintf(stderr, "more: ikq runs -cursor %s\n", next)
	}
	return nil
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

const runUsage = `usage: ikq run show [flags] RUN_ID

Shows a run: its jobs' counts by status and its failed and canceled jobs grouped by
reason, with a few of each. -json prints the run's document (GET /v1/runs/{id}).
The exit status is 1 when a job of the run failed or was canceled.`

func runRunCmd(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "show" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			fmt.Fprintln(stderr, runUsage)
			return flag.ErrHelp
		}
		return usageError{"usage: ikq run show [flags] RUN_ID"}
	}
	fs := flag.NewFlagSet("run show", flag.ContinueOnError)
	var c common
	c.register(fs)
	asJSON := fs.Bool("json", false, "print the run's JSON document")
	pos, err := parseArgs(fs, args[1:], stderr, runUsage)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError{"usage: ikq run show [flags] RUN_ID"}
	}
	if err := checkRunID(pos[0]); err != nil {
		return err
	}
	p, _, done, err := openProducer(&c)
	if err != nil {
		return err
	}
	defer done()
	run, err := p.Run(ctx, pos[0])
	if errors.Is(err, tasks.ErrRunNotFound) {
		return runNotFound(pos[0])
	}
	if err != nil {
		return err
	}
	if *asJSON {
		if err := printJSON(stdout, run); err != nil {
			return err
		}
	} else {
		printRun(stdout, run)
	}
	return runOutcome(run)
}

// runOutcome is the error of a run with failed or canceled jobs: exit status 1.
func runOutcome(run *tasks.Run) error {
	if n := run.Counts.Failed + run.Counts.Canceled; n > 0 {
		return fmt.Errorf("run %s: %d of %d jobs failed or were canceled; ikq retry --run %s runs the failed ones again", run.ID, n, run.Total, run.ID)
	}
	return nil
}

// printRun writes a run for a person to read.
func printRun(w io.Writer, r *tasks.Run) {
	fmt.Fprintf(w, "run      %s\n", r.ID)
	fmt.Fprintf(w, "created  %s\n", r.CreatedAt.Local().Format(time.RFC3339))
	if r.Source != "" {
		fmt.Fprintf(w, "source   %s (mode %s, folder %s)\n", r.Source, dash(r.Mode), dash(r.Folder))
	}
	state := "running"
	if r.Done {
		state = "done"
	}
	c := r.Counts
	fmt.Fprintf(w, "jobs     %d (%s): %d completed, %d failed, %d canceled, %d running (%d queued, %d active, %d retrying, %d uploaded)\n",
		r.Total, state, c.Completed, c.Failed, c.Canceled, c.Unfinished(), c.Queued, c.Active, c.Retrying, c.Uploaded)
	if len(r.Failures) == 0 {
		return
	}
	fmt.Fprintln(w, "failures:")
	for _, f := range r.Failures {
		fmt.Fprintf(w, "  %d× %s\n", f.Count, f.Reason)
		for _, e := range f.Examples {
			fmt.Fprintf(w, "      %s  %s\n", e.JobID, e.Source)
		}
		if f.Count > len(f.Examples) {
			fmt.Fprintf(w, "      … %d more (ikq list -run %s -status %s)\n", f.Count-len(f.Examples), r.ID, f.Status)
		}
	}
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

const resultsUsage = `usage: ikq results -run RUN_ID [-format csv|jsonl] [-output FILE]

Exports the result of every job of a run, in the order they were created: source,
status, jobId, fileId, filePath, url, size, attempts, skipped, error; the same
rows ikq bulk -results writes as it follows a run.`

func runResults(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("results", flag.ContinueOnError)
	var c common
	c.register(fs)
	run := fs.String("run", "", "the run to export (required)")
	format := fs.String("format", "", "csv or jsonl (default: from the -output file's extension, else csv)")
	output := fs.String("output", "", "write to this file instead of stdout")
	pos, err := parseArgs(fs, args, stderr, resultsUsage)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q", pos[0])}
	}
	if *run == "" {
		return usageError{"usage: ikq results -run RUN_ID [-format csv|jsonl] [-output FILE]"}
	}
	if err := checkRunID(*run); err != nil {
		return err
	}
	if *format == "" {
		*format = bulk.FormatCSV
		if ext := strings.ToLower(filepath.Ext(*output)); ext == ".jsonl" || ext == ".ndjson" {
			*format = bulk.FormatJSONL
		}
	}
	if *format != bulk.FormatCSV && *format != bulk.FormatJSONL {
		return usageError{fmt.Sprintf("-format %q: want csv or jsonl", *format)}
	}
	p, _, done, err := openProducer(&c)
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
	out := stdout
	var file *os.File
	if *output != "" {
		if file, err = os.Create(*output); err != nil {
			return usageError{fmt.Sprintf("-output: %v", err)}
		}
		defer func() { _ = file.Close() }() // on early returns; the Close below reports errors
		out = file
	}
	rw, err := bulk.NewResultWriter(out, *format)
	if err != nil {
		return err
	}
	n, err := bulk.Export(ctx, r, p.RunJobs, rw)
	if err != nil {
		return err
	}
	if file != nil {
		if err := file.Close(); err != nil {
			return fmt.Errorf("writing %s: %w", *output, err)
		}
		fmt.Fprintf(stderr, "ikq results: %d jobs of run %s written to %s\n", n, *run, *output)
	}
	return nil
}
