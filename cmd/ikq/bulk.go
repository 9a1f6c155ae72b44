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
	"strconv"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/bulk"
	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/ledger"
	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

const bulkUsage = `usage: ikq bulk [flags] DIR|MANIFEST|BUCKET-PREFIX

Uploads one file per file under DIR, per item of MANIFEST, or per object under
BUCKET-PREFIX (s3://bucket/prefix, gs://…, azblob://…), as upload jobs.

BUCKET-PREFIX is listed as a stream; each object goes into -folder joined with its
key's folders below the prefix. Workers read the objects from the store with its
usual credentials (AWS_*, GOOGLE_APPLICATION_CREDENTIALS, AZURE_*), and
IKQ_S3_ENDPOINT for an S3-compatible server.

DIR is walked recursively. Hidden files and folders are skipped, and so are symlinks
to folders. A symlink to a file is followed only when the file is inside DIR. Each
file goes into the folder -folder (default /) joined with its own folder under DIR,
under its own name. Characters that ImageKit does not allow in folder names become _.
Jobs read the files through file://, so workers need IKQ_FILE_ROOT set to DIR or a
folder above it.

MANIFEST is a .csv file: a header row of job field names (file,fileName,tags,...),
then one job per row. Empty cells leave a field unset. extensions, customMetadata and
transformation cells hold JSON text. It can also be a .jsonl or .ndjson file with one
job spec per line. Give "-" to read a manifest from stdin, together with -format.
An invalid item is reported with its line and skipped; with -strict, nothing is
enqueued when any item is invalid.

ImageKit is the ledger. The same source always lands on the same path: file names
are kept (-unique adds a suffix made from the source, the same in every run), and
every job asks ImageKit what is at its path before uploading (-if-exists, default
skip: a file of the same size is kept, one of another size gets a new version). So
running bulk again, after touching the files or after Redis lost its records,
uploads only what changed.

Every run has an id (-run, default a new one), carried by its jobs. The same -run
again enqueues nothing twice: it goes on where an interrupted run stopped. ikq runs
lists runs; ikq run show ID gives a run's counts and failures, ikq retry -run ID
re-runs its failed items and ikq results -run ID exports its results.

stdout gets one JSON line per item. stderr gets the progress and a summary. The exit
status is 1 when an item is invalid or was not enqueued, or, with -wait, when a job
failed or was canceled. It is 2 for bad usage.

flags:
`

// bulkFlags are the flags of ikq bulk.
type bulkFlags struct {
	c           common
	opts        bulk.Options
	results     string
	resultsFmt  string
	useUnique   *bool // -use-unique-file-name, the older spelling of -unique
	concurrency int
	mode        string
	runSet      bool
	target      imagekitTarget
	// The dry run's size limits.
	maxSize, maxVideoSize bytesize.Size
	log                   *slog.Logger
	// finished, when set, learns how the run ended (the embedded state file).
	finished func(*bulk.Summary, error)
	// recorded: the run's jobs stay in Redis, where ikq run show and friends read them.
	recorded bool
}

// setUp connects the run to Redis and, when it uploads from here, starts its worker.
// It prints one line saying how the run goes. done releases what it started.
func (f *bulkFlags) setUp(ctx context.Context, stderr io.Writer) (done func(), err error) {
	o := &f.opts
	var stops []func()
	cleanup := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	defer func() {
		if err != nil {
			cleanup()
		}
	}()
	rdb, cfg, err := f.c.redis()
	if err != nil {
		return nil, err
	}
	stops = append(stops, func() { _ = rdb.Close() })
	var redisErr error
	if perr := pingRedis(ctx, rdb); perr != nil {
		if ctx.Err() != nil {
			return nil, errors.New("canceled before the run started")
		}
		redisErr = fmt.Errorf("cannot reach Redis at %s (%w): start it (or ikq dev), point REDIS_URL / -redis-url at a running one, or run with -mode embedded", cfg.String(), perr)
	}
	redisGiven := f.c.redisConfigured()
	mode, err := chooseMode(f.mode, o.Source, redisErr, redisGiven, f.target.key != "")
	if err != nil {
		return nil, err
	}
	where := "Redis at " + cfg.String()
	if mode == modeEmbedded {
		emb, stop, err := startEmbeddedRedis()
		if err != nil {
			return nil, err
		}
		stops = append(stops, stop)
		rdb, where = emb, "an embedded Redis"
		if err := f.useStateFile(stderr); err != nil {
			return nil, err
		}
	}
	queue := ""
	if mode == modeLocal || mode == modeEmbedded {
		queue = localQueue(o.Plan.Run)
		o.Wait = true // the uploads happen in this process: it stays until they end
	}
	p, err := producer.New(f.c.producerConfig(producer.Config{Redis: rdb, Validate: o.Validate, Queue: queue, Logger: slog.New(slog.DiscardHandler)}))
	if err != nil {
		return nil, err
	}
	stops = append(stops, func() { _ = p.Close() })
	o.Jobs = producerJobs{p}
	if ik := f.target.client(); ik != nil {
		o.InPlace = inPlace{p: p, ik: ik, cache: ledger.New()}
	}
	info := tasks.RunInfo{ID: o.Plan.Run, Source: o.Source, Mode: mode, Folder: o.Plan.Folder}
	if isDir(o.Source) {
		if info.Root, err = filepath.Abs(o.Source); err != nil {
			return nil, err
		}
	}
	if err := p.RecordRun(ctx, info); err != nil {
		return nil, fmt.Errorf("recording run %s: %w", o.Plan.Run, err)
	}
	f.recorded = mode != modeEmbedded // an embedded Redis is gone when the run ends
	switch mode {
	case modeEnqueue:
		fmt.Fprintf(stderr, "ikq bulk: run %s: %s\n", o.Plan.Run, modeLine(o.Source))
		warnNoWorker(ctx, rdb, o.Plan.Queue, stderr)
		return cleanup, nil
	case modeLocal:
		fmt.Fprintf(stderr, "ikq bulk: run %s: uploading from this machine with %d upload slots (-concurrency); jobs are recorded in %s on queue %s, which only this run serves\n",
			o.Plan.Run, f.concurrency, where, queue)
	default:
		fmt.Fprintf(stderr, "ikq bulk: run %s: no Redis (%v); uploading from this machine with %d upload slots and %s; running the same command again goes on where this one stopped\n",
			o.Plan.Run, redisErr, f.concurrency, where)
	}
	root := string(filepath.Separator) // a manifest's file:// items are this machine's files
	if isDir(o.Source) {
		if root, err = filepath.Abs(o.Source); err != nil {
			return nil, err
		}
	}
	if f.target.dev {
		fmt.Fprintf(stderr, "ikq bulk: uploading to ikq dev's emulator at %s (set IMAGEKIT_PRIVATE_KEY to upload to ImageKit)\n", f.target.apiURL)
	}
	stop, err := startLocalWorker(rdb, f.target, queue, root, f.concurrency, f.c.store.retention, f.log)
	if err != nil {
		return nil, err
	}
	stops = append(stops, stop)
	return cleanup, nil
}

// useStateFile keeps an embedded run's state in a local file: a run that did not
// finish is taken up again under its id by the same command.
func (f *bulkFlags) useStateFile(stderr io.Writer) error {
	o := &f.opts
	path, err := statePath(o.Source, o.Plan.Folder)
	if err != nil {
		return err
	}
	st, err := readState(path)
	if err != nil {
		return fmt.Errorf("reading the run's state: %w", err)
	}
	if st != nil && !st.Done && !f.runSet {
		o.Plan.Run = st.Run
		fmt.Fprintf(stderr, "ikq bulk: going on with run %s, which did not finish (state in %s)\n", st.Run, path)
	}
	st = &embeddedState{Run: o.Plan.Run, Source: o.Source, Folder: o.Plan.Folder, UpdatedAt: time.Now().UTC()}
	if err := writeState(path, st); err != nil {
		return fmt.Errorf("writing the run's state: %w", err)
	}
	f.finished = func(sum *bulk.Summary, err error) {
		st.Done = err == nil
		st.UpdatedAt = time.Now().UTC()
		if werr := writeState(path, st); werr != nil {
			fmt.Fprintf(stderr, "ikq bulk: writing the run's state: %v\n", werr)
		}
	}
	return nil
}

// minLevel passes on records at or above min.
type minLevel struct {
	slog.Handler
	min slog.Level
}

func (m *minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= m.min && m.Handler.Enabled(ctx, l)
}

// WithAttrs and WithGroup keep the floor on the loggers derived with With.
func (m *minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &minLevel{m.Handler.WithAttrs(attrs), m.min}
}

func (m *minLevel) WithGroup(name string) slog.Handler {
	return &minLevel{m.Handler.WithGroup(name), m.min}
}

func runBulk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return bulkFrom(ctx, args, os.Stdin, stdout, stderr)
}

// bulkFrom is runBulk, reading a "-" manifest from stdin.
func bulkFrom(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) (err error) {
	f, err := parseBulkFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := f.c.logger(stderr)
	if err != nil {
		return err
	}
	// The in-process worker logs only what goes wrong: the progress says the rest.
	f.log = slog.New(&minLevel{log.Handler(), slog.LevelWarn})
	o := &f.opts
	o.Stdin, o.Stdout, o.Stderr = stdin, stdout, stderr
	o.Validate = tasks.ValidateOptions{AllowFile: true}

	if f.results != "" {
		file, err := os.Create(f.results)
		if err != nil {
			return usageError{fmt.Sprintf("-results: %v", err)}
		}
		defer func() {
			// A results file that could not be written out is a failed run.
			if cerr := file.Close(); cerr != nil && err == nil {
				err = fmt.Errorf("-results: %w", cerr)
			}
		}()
		if o.Results, err = bulk.NewResultWriter(file, f.resultsFmt); err != nil {
			return usageError{"-results-format: " + err.Error()}
		}
	}
	if strings.Contains(o.Source, "://") {
		stores, err := objstore.New(objstore.Config{S3Endpoint: os.Getenv("IKQ_S3_ENDPOINT")})
		if err != nil {
			return usageError{"IKQ_S3_ENDPOINT: " + err.Error()}
		}
		defer func() { _ = stores.Close() }() // read-only clients: nothing is lost
		o.Buckets = stores
	}
	if err := bulk.Check(o.Source, o.Format); err != nil {
		var ue *bulk.UsageError
		if errors.As(err, &ue) {
			return usageError{ue.Msg}
		}
		return err
	}
	redisURL := f.c.redisURL
	if !f.c.redisConfigured() {
		if d := discoverRedis(ctx); d != "" {
			redisURL = d
		}
	}
	f.target = resolveTarget(redisURL)
	ik := f.target.client()
	if ik != nil {
		warning, err := checkKey(ctx, ik)
		if err != nil {
			return err
		}
		if warning != "" {
			fmt.Fprintf(stderr, "ikq bulk: warning: %s\n", warning)
		}
	}
	if o.DryRun {
		o.Preflight = bulkPreflight(ik)
		o.Preflight.MaxSize, o.Preflight.MaxVideoSize = int64(f.maxSize), int64(f.maxVideoSize)
	} else {
		done, err := f.setUp(ctx, stderr)
		if err != nil {
			return err
		}
		defer done()
	}
	sum, err := bulk.Run(ctx, *o)
	if f.finished != nil {
		f.finished(sum, err)
	}
	if f.recorded && sum != nil && sum.Enqueued+sum.Existed > 0 {
		fmt.Fprint(stderr, runHints(o.Plan.Run, sum.Failed+sum.Canceled > 0))
	}
	var ue *bulk.UsageError
	if errors.As(err, &ue) {
		return usageError{ue.Msg}
	}
	return err
}

// modeLine says how the run's files reach ImageKit.
func modeLine(src string) string {
	if fi, err := os.Stat(src); err == nil && fi.IsDir() { //nolint:gosec // G703: the folder the user named is the one to read
		abs, _ := filepath.Abs(src)
		return "enqueue only: workers read these files through file://, so they need IKQ_FILE_ROOT=" + abs + " (or a folder above it)"
	}
	if strings.Contains(src, "://") {
		return "enqueue only: workers read each object from the bucket (IKQ_S3_ENDPOINT and the store's usual credentials)"
	}
	return "enqueue only: workers fetch each item's source"
}

// pingRedis checks that Redis answers, within a few seconds. The driver's own log
// lines (one per failed dial) are silenced: the caller says what failed, once.
func pingRedis(ctx context.Context, rdb redis.UniversalClient) error {
	redis.SetLogger(quietRedis{})
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return redisurl.Ping(ctx, rdb)
}

// warnNoWorker warns when no worker has been seen serving queue: jobs would wait in
// a Redis nobody reads.
func warnNoWorker(ctx context.Context, rdb redis.UniversalClient, queue string, stderr io.Writer) {
	if queue == "" {
		queue = tasks.QueueDefault
	}
	// The inspector shares rdb: closing it would close the caller's client.
	ins := asynq.NewInspectorFromRedisClient(rdb)
	servers, err := ins.Servers()
	if err != nil || ctx.Err() != nil {
		return
	}
	for _, s := range servers {
		if _, ok := s.Queues[queue]; ok {
			return
		}
	}
	fmt.Fprintf(stderr, "ikq: warning: no worker serves the %s queue on this Redis: jobs wait there until one starts (ikq worker, or ikq dev)\n", queue)
}

// producerJobs adapts the producer to the bulk engine.
type producerJobs struct{ p *producer.Client }

func (j producerJobs) EnqueueBatch(ctx context.Context, jobs []tasks.Upload) []bulk.Enqueued {
	res := j.p.EnqueueBatch(ctx, jobs)
	out := make([]bulk.Enqueued, len(res))
	for i, r := range res {
		if r.Err != nil {
			out[i].Err = r.Err
			continue
		}
		out[i] = bulk.Enqueued{ID: r.Job.ID, Status: string(r.Job.Status), CreatedAt: r.Job.CreatedAt}
	}
	return out
}

func (j producerJobs) Get(ctx context.Context, id string) (*bulk.JobState, error) {
	job, err := j.p.Get(ctx, id)
	if errors.Is(err, jobstore.ErrNotFound) {
		return nil, fmt.Errorf("job %s: %w", id, bulk.ErrJobGone)
	}
	if err != nil {
		return nil, err
	}
	return bulk.StateOf(job), nil
}

// parseBulkFlags parses the flags. They may come before and after the one argument.
func parseBulkFlags(args []string, stderr io.Writer) (*bulkFlags, error) {
	fs := flag.NewFlagSet("bulk", flag.ContinueOnError)
	f := &bulkFlags{}
	o := &f.opts
	p := &o.Plan
	f.c.register(fs)
	fs.StringVar(&o.Format, "format", "", "manifest format: csv or jsonl (default: from the file's extension; required for -)")
	fs.BoolVar(&o.Strict, "strict", false, "enqueue nothing if any item is invalid")
	fs.BoolVar(&o.DryRun, "dry-run", false, "print the job specs that would be enqueued, one JSON line each, and enqueue nothing")
	fs.BoolVar(&o.Wait, "wait", false, "follow every job until it ends, then print a summary; exit 1 if any failed or was canceled")
	fs.DurationVar(&o.WaitTimeout, "wait-timeout", 0, "with -wait, give up after this long (0: no limit)")
	fs.IntVar(&f.concurrency, "concurrency", 8, "batches enqueued at once, and jobs read at once with -wait")
	fs.StringVar(&f.results, "results", "", "write every item's result (source, status, fileId, filePath, url, size, attempts, error) to this file as each is known")
	fs.StringVar(&f.resultsFmt, "results-format", "", "csv or jsonl (default: from the -results file's extension, else csv)")
	f.maxSize, f.maxVideoSize = bulk.DefaultMaxSize, bulk.DefaultMaxVideoSize
	fs.Var(&f.maxSize, "max-file-size", "with -dry-run, the largest file ImageKit takes on your plan")
	fs.Var(&f.maxVideoSize, "max-video-size", "with -dry-run, the largest video ImageKit takes on your plan")
	fs.StringVar(&f.mode, "mode", modeAuto, "how files reach ImageKit: enqueue (workers read the sources), local (a worker in this process uploads them; jobs still recorded in Redis), embedded (no Redis: an embedded one, the run's state in a local file), or auto: local for a folder unless IKQ_FILE_ROOT covers it, embedded when no Redis answers")
	fs.StringVar(&p.Run, "run", "", "the run's id: letters, digits, . _ - : (default: a new one; the same id again resumes that run)")
	fs.StringVar(&p.Folder, "folder", "/", "folder prefix: DIR's folders, or a manifest item's folder, go under it")
	fs.Func("tags", "comma-separated tags added to every job", func(v string) error {
		p.Tags = append(p.Tags, strings.Split(v, ",")...)
		return nil
	})
	fs.StringVar(&p.Queue, "queue", "", "critical, default or low, for jobs that do not name a queue")
	fs.IntVar(&p.MaxAttempts, "max-attempts", 0, "attempts per job, for jobs that do not set maxAttempts (default 10)")
	fs.StringVar(&p.CallbackURL, "callback-url", "", "URL that gets each job's record when the job ends, for jobs without their own")
	fs.StringVar(&p.IfExists, "if-exists", tasks.IfExistsSkip, "when a job's path already holds a file: skip (same size; else a new version), version, overwrite or fail")
	fs.Func("include", "only items whose path matches this glob (repeatable; *, ?, [a-z], {a,b}, ** for any folders; without / it matches the file name anywhere)", func(v string) error {
		p.Include = append(p.Include, v)
		return bulk.CheckGlobs([]string{v})
	})
	fs.Func("exclude", "leave out items whose path matches this glob (repeatable, as -include)", func(v string) error {
		p.Exclude = append(p.Exclude, v)
		return bulk.CheckGlobs([]string{v})
	})
	unique := fs.Bool("unique", false, "add a unique suffix to file names, made from each source so that it is the same in every run")
	fs.Func("use-unique-file-name", "true or false: the same as -unique, for jobs that do not say", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		f.useUnique = &b
		return nil
	})
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fmt.Fprint(stderr, bulkUsage)
				fs.SetOutput(stderr)
				fs.PrintDefaults()
				return nil, err
			}
			return nil, usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	p.FolderSet = onCommandLine(fs, "folder")
	f.runSet = onCommandLine(fs, "run")
	switch f.mode {
	case modeAuto, modeEnqueue, modeLocal, modeEmbedded:
	default:
		return nil, usageError{fmt.Sprintf("-mode %q: want auto, enqueue, local or embedded", f.mode)}
	}
	switch {
	case f.useUnique != nil:
		p.Unique = f.useUnique
	case *unique:
		p.Unique = unique
	}
	o.Concurrency = f.concurrency
	switch {
	case len(pos) == 0:
		return nil, usageError{"usage: ikq bulk [flags] DIR|MANIFEST (-h for the flags)"}
	case len(pos) > 1:
		return nil, usageError{fmt.Sprintf("unexpected argument %q: give one DIR or MANIFEST", pos[1])}
	case f.concurrency < 1:
		return nil, usageError{"-concurrency must be at least 1"}
	case o.WaitTimeout < 0:
		return nil, usageError{"-wait-timeout must not be negative"}
	}
	o.Source = pos[0]
	switch o.Format {
	case "", bulk.FormatCSV, bulk.FormatJSONL:
	case "ndjson":
		o.Format = bulk.FormatJSONL
	default:
		return nil, usageError{fmt.Sprintf("-format %q: want csv or jsonl", o.Format)}
	}
	if f.resultsFmt == "" {
		f.resultsFmt = bulk.FormatCSV
		if ext := strings.ToLower(filepath.Ext(f.results)); ext == ".jsonl" || ext == ".ndjson" {
			f.resultsFmt = bulk.FormatJSONL
		}
	}
	if p.Run == "" {
		p.Run = bulk.NewRunID(time.Now())
	}
	// A bad shared flag is reported once, as bad usage, not once per item.
	probe := tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg", Folder: "/" + strings.Trim(p.Folder, "/"),
		Queue: p.Queue, MaxAttempts: p.MaxAttempts, CallbackURL: p.CallbackURL, IfExists: p.IfExists, Run: p.Run, Tags: p.Tags}
	var ve *tasks.ValidationError
	if err := probe.Validate(tasks.ValidateOptions{}); errors.As(err, &ve) {
		msgs := make([]string, len(ve.Problems))
		for i, pr := range ve.Problems {
			msgs[i] = pr.Message
		}
		return nil, usageError{"the flags give every job a problem: " + strings.Join(msgs, " ")}
	}
	return f, nil
}

// quietRedis drops go-redis's internal log lines.
type quietRedis struct{}

func (quietRedis) Printf(context.Context, string, ...any) {}

// onCommandLine reports whether the flag was given on the command line.
func onCommandLine(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}
