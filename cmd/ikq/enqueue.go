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

// jobFlags are the enqueue flags, named after the job's JSON fields in kebab case.
// Each flag set on the command line becomes that field; JSON-valued fields take JSON.
var jobFlags = []struct {
	flag, field, kind, usage string
}{
	{"file", "file", "string", "source: http(s) URL, s3://, gs://, azblob://, file:// or base64 content"},
	{"file-name", "fileName", "string", "name of the file in ImageKit"},
	{"use-unique-file-name", "useUniqueFileName", "bool", "add a unique suffix to the name (default true)"},
	{"tags", "tags", "string", "comma-separated tags"},
	{"folder", "folder", "string", "folder path, e.g. /images/products"},
	{"is-private-file", "isPrivateFile", "bool", "mark the file private"},
	{"is-published", "isPublished", "bool", "publish the file (default true)"},
	{"custom-coordinates", "customCoordinates", "string", "x,y,width,height"},
	{"response-fields", "responseFields", "string", "comma-separated optional response fields"},
	{"extensions", "extensions", "json", `JSON array, e.g. [{"name":"remove-bg"}]`},
	{"webhook-url", "webhookUrl", "string", "URL that receives the final status of extensions"},
	{"overwrite-file", "overwriteFile", "bool", "overwrite a file at the same path (default true)"},
	{"overwrite-ai-tags", "overwriteAITags", "bool", "remove AITags on overwrite (default true)"},
	{"overwrite-tags", "overwriteTags", "bool", "remove tags on overwrite (default true)"},
	{"overwrite-custom-metadata", "overwriteCustomMetadata", "bool", "remove custom metadata on overwrite (default true)"},
	{"custom-metadata", "customMetadata", "json", `JSON object, e.g. {"brand":"Nike"}`},
	{"transformation", "transformation", "json", `JSON object, e.g. {"pre":"rt-90"}`},
	{"checks", "checks", "string", `server-side checks, e.g. "file.size" < "1mb"`},
	{"description", "description", "string", "description of the file"},
	{"callback-url", "callbackUrl", "string", "URL ikq POSTs the job record to when the job ends"},
	{"queue", "queue", "string", "critical, default or low"},
	{"run-at", "runAt", "time", "when to run: RFC 3339 time, or a delay like 10m"},
	{"max-attempts", "maxAttempts", "int", "attempts before the job fails (default 10)"},
	{"idempotency-key", "idempotencyKey", "string", "the same key returns the same job"},
	{"fetch", "fetch", "string", "worker (the worker streams the bytes) or remote (ImageKit downloads the URL)"},
	{"if-exists", "ifExists", "string", "when the destination path holds a file: skip (same size; else a new version), version, overwrite or fail (default: upload without asking)"},
	{"run", "run", "string", "the bulk run the job belongs to"},
}

func runEnqueue(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("enqueue", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	var c common
	c.register(fs)
	wait := fs.Bool("wait", false, "follow the job until it ends; exit 1 if it failed or was canceled")
	timeout := fs.Duration("wait-timeout", 0, "with -wait, give up after this long (0: no limit)")
	values := map[string]*string{}
	for _, f := range jobFlags {
		v := new(string)
		values[f.flag] = v
		fs.Func(f.flag, f.usage, func(s string) error { *v = s; return nil })
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
	defer rdb.Close()
	p, err := producer.New(producer.Config{Redis: rdb, Validate: tasks.ValidateOptions{AllowFile: true}})
	if err != nil {
		return err
	}
	defer p.Close()
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
	for _, f := range jobFlags {
		if !set[f.flag] {
			continue
		}
		v := *values[f.flag]
		switch f.kind {
		case "string":
			doc[f.field] = v
		case "bool":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return nil, fmt.Errorf("--%s: want true or false, got %q", f.flag, v)
			}
			doc[f.field] = b
		case "int":
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, fmt.Errorf("--%s: want a whole number, got %q", f.flag, v)
			}
			doc[f.field] = n
		case "json":
			if !json.Valid([]byte(v)) {
				return nil, fmt.Errorf("--%s: not valid JSON", f.flag)
			}
			doc[f.field] = json.RawMessage(v)
		case "time":
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				d, derr := time.ParseDuration(v)
				if derr != nil {
					return nil, fmt.Errorf("--%s: want an RFC 3339 time or a delay like 10m, got %q", f.flag, v)
				}
				t = now.Add(d)
			}
			doc[f.field] = t
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
		for _, f := range jobFlags {
			if f.field == top {
				return nil, fmt.Errorf("--%s: %w", f.flag, err)
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
	defer rdb.Close()
	job, err := jobstore.New(rdb, jobstore.Options{}).Get(ctx, fs.Arg(0))
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
