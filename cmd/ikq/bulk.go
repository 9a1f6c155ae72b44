package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

const bulkUsage = `usage: ikq bulk [flags] DIR|MANIFEST

Enqueues one upload job per file under DIR, or per item of MANIFEST.

DIR is walked recursively. Hidden files and folders are skipped, and so are symlinks
to folders. A symlink to a file is followed only when the file is inside DIR. Each
file goes into the folder -folder (default /) joined with its own folder under DIR.
Characters that ImageKit does not allow in folder names become _. Jobs read the
files through file://, so workers need IKQ_FILE_ROOT set to DIR or a folder above it.

MANIFEST is a .csv file: a header row of job field names (file,fileName,tags,...),
then one job per row. Empty cells leave a field unset. extensions, customMetadata and
transformation cells hold JSON text. It can also be a .jsonl or .ndjson file with one
job spec per line. Give "-" to read a manifest from stdin, together with -format.
An invalid item is reported with its line and skipped; with -strict, nothing is
enqueued when any item is invalid.

Running the same bulk again enqueues nothing twice. Each job gets an idempotency key
unless it has its own. For a file of DIR, the key is made from the file's path, size
and modification time, and from the job. For a manifest item, it is made from the job
spec.

stdout gets one JSON line per item. stderr gets the progress and a summary. The exit
status is 1 when an item is invalid or was not enqueued, or, with -wait, when a job
failed or was canceled. It is 2 for bad usage.

flags:
`

const (
	// maxBatch is the most jobs one producer.EnqueueBatch call gets.
	maxBatch = 500
	// maxListed is how many invalid items or failures the summary names one by one;
	// past it, failures are grouped by message. stdout always has every item.
	maxListed = 10
	// pollEvery is how often -wait reads the jobs still running.
	pollEvery = 500 * time.Millisecond
	// maxPollFailures is how many rounds in a row -wait may fail to read any job
	// (Redis down) before it gives up.
	maxPollFailures = 10
)

// bulkItem is one item of a bulk run: where it came from, its job, and what became of it.
type bulkItem struct {
	line int    // the manifest line; 0 for a file of DIR
	path string // the file of DIR, under DIR as the user named it
	job  *tasks.Upload

	// A file's size and modification time, for its idempotency key.
	size  int64
	mtime time.Time

	// invalid: the item is not a valid job, and err says why; nothing is enqueued.
	// Otherwise err, when id is "", says why it was not enqueued, and when id is set,
	// why following the job stopped.
	invalid bool
	err     error

	id      string
	status  jobstore.Status // as last read
	existed bool            // an earlier run, or an earlier item of this one, enqueued the job
	final   *jobstore.Job   // with -wait: the finished job
}

// name is how messages name the item.
func (it *bulkItem) name() string {
	if it.path != "" {
		return it.path
	}
	return fmt.Sprintf("line %d", it.line)
}

func (it *bulkItem) reject(err error) {
	it.invalid, it.err = true, err
}

// bulkShared are the flags that apply to every job of a run.
type bulkShared struct {
	folder      string
	folderSet   bool
	tags        tasks.StringList
	queue       string
	maxAttempts int
	callbackURL string
	unique      *bool
}

// apply sets the shared options on a job, all but folder (see prepare). --tags add
// to the job's tags. The others fill fields that the job leaves unset, because a
// manifest line is more specific than the command line.
func (s *bulkShared) apply(u *tasks.Upload) {
	for _, t := range s.tags {
		if !slices.Contains(u.Tags, t) {
			u.Tags = append(u.Tags, t)
		}
	}
	if u.Queue == "" {
		u.Queue = s.queue
	}
	if u.MaxAttempts == 0 {
		u.MaxAttempts = s.maxAttempts
	}
	if u.CallbackURL == "" {
		u.CallbackURL = s.callbackURL
	}
	if u.UseUniqueFileName == nil && s.unique != nil {
		v := *s.unique
		u.UseUniqueFileName = &v
	}
}

// joinFolder puts folder under prefix. Segments are kept as written and not
// cleaned, so a ".." is refused by validation and cannot climb out of the prefix.
func joinFolder(prefix, folder string) string {
	var segs []string
	for _, s := range []string{prefix, folder} {
		for seg := range strings.SplitSeq(s, "/") {
			if seg != "" {
				segs = append(segs, seg)
			}
		}
	}
	return "/" + strings.Join(segs, "/")
}

// bulkFlags are the flags of ikq bulk.
type bulkFlags struct {
	c           common
	format      string
	strict      bool
	dryRun      bool
	wait        bool
	waitTimeout time.Duration
	concurrency int
	shared      bulkShared
}

func runBulk(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return bulkFrom(ctx, args, os.Stdin, stdout, stderr)
}

// bulkFrom is runBulk, reading a "-" manifest from stdin.
func bulkFrom(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	f, arg, err := parseBulkFlags(args, stderr)
	if err != nil {
		return err
	}
	log, err := f.c.logger(stderr)
	if err != nil {
		return err
	}
	src, err := readBulkSource(arg, f.format, stdin)
	if err != nil {
		return err
	}
	items := src.items
	if src.dir != "" {
		fmt.Fprintf(stderr, "ikq bulk: workers read these files through file://, so they need IKQ_FILE_ROOT=%s (or a folder above it)\n", src.dir)
	}
	reportSkipped(stderr, src.skipped)
	opts := tasks.ValidateOptions{AllowFile: true}
	invalid := prepare(items, &f.shared, opts)
	reportInvalid(stderr, items, invalid)

	if f.dryRun {
		return dryRun(stdout, stderr, items, invalid)
	}
	if f.strict && invalid > 0 {
		fmt.Fprintf(stderr, "%s: nothing enqueued (-strict)\n", plural(invalid, "invalid item"))
		return fmt.Errorf("%d of %d items are invalid", invalid, len(items))
	}

	rdb, _, err := f.c.redis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	cfg := producer.Config{Redis: rdb, Validate: opts}
	// At info level, the producer logs one line per job. That would bury the progress.
	if log.Enabled(ctx, slog.LevelDebug) {
		cfg.Logger = log
	}
	p, err := producer.New(cfg)
	if err != nil {
		return err
	}
	defer p.Close()

	enqueueAll(ctx, p, items, f.concurrency, newProgress(stderr, "enqueued", len(items)-invalid))
	var enqueued, existed, notEnqueued int
	for _, it := range items {
		switch {
		case it.invalid:
		case it.id == "":
			notEnqueued++
		case it.existed:
			existed++
		default:
			enqueued++
		}
	}
	if notEnqueued > 0 {
		fmt.Fprintln(stderr, "not enqueued:")
		listGrouped(stderr, filter(items, func(it *bulkItem) bool { return !it.invalid && it.id == "" }),
			func(it *bulkItem) string { return it.err.Error() })
	}
	summary := fmt.Sprintf("%s: %d enqueued, %d already enqueued, %d invalid", plural(len(items), "job"), enqueued, existed, invalid)
	if notEnqueued > 0 {
		summary += fmt.Sprintf(", %d not enqueued", notEnqueued)
	}
	fmt.Fprintln(stderr, summary)

	if !f.wait || ctx.Err() != nil {
		if err := printItems(stdout, items); err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if invalid+notEnqueued > 0 {
			return fmt.Errorf("%d of %d items were not enqueued", invalid+notEnqueued, len(items))
		}
		return nil
	}
	return waitAll(ctx, p, items, f, stdout, stderr)
}

// parseBulkFlags parses the flags. They may come before and after the one argument.
func parseBulkFlags(args []string, stderr io.Writer) (*bulkFlags, string, error) {
	fs := flag.NewFlagSet("bulk", flag.ContinueOnError)
	f := &bulkFlags{}
	s := &f.shared
	f.c.register(fs)
	fs.StringVar(&f.format, "format", "", "manifest format: csv or jsonl (default: from the file's extension; required for -)")
	fs.BoolVar(&f.strict, "strict", false, "enqueue nothing if any item is invalid")
	fs.BoolVar(&f.dryRun, "dry-run", false, "print the job specs that would be enqueued, one JSON line each, and enqueue nothing")
	fs.BoolVar(&f.wait, "wait", false, "follow every job until it ends, then print a summary; exit 1 if any failed or was canceled")
	fs.DurationVar(&f.waitTimeout, "wait-timeout", 0, "with -wait, give up after this long (0: no limit)")
	fs.IntVar(&f.concurrency, "concurrency", 8, "batches enqueued at once, and jobs read at once with -wait")
	fs.StringVar(&s.folder, "folder", "/", "folder prefix: DIR's folders, or a manifest item's folder, go under it")
	fs.Func("tags", "comma-separated tags added to every job", func(v string) error {
		s.tags = append(s.tags, strings.Split(v, ",")...)
		return nil
	})
	fs.StringVar(&s.queue, "queue", "", "critical, default or low, for jobs that do not name a queue")
	fs.IntVar(&s.maxAttempts, "max-attempts", 0, "attempts per job, for jobs that do not set maxAttempts (default 10)")
	fs.StringVar(&s.callbackURL, "callback-url", "", "URL that gets each job's record when the job ends, for jobs without their own")
	fs.Func("use-unique-file-name", "true or false: add a unique suffix to file names, for jobs that do not say (default true)", func(v string) error {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errors.New("want true or false")
		}
		s.unique = &b
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
				return nil, "", err
			}
			return nil, "", usageError{err.Error()}
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	fs.Visit(func(fl *flag.Flag) { s.folderSet = s.folderSet || fl.Name == "folder" })
	switch {
	case len(pos) == 0:
		return nil, "", usageError{"usage: ikq bulk [flags] DIR|MANIFEST (-h for the flags)"}
	case len(pos) > 1:
		return nil, "", usageError{fmt.Sprintf("unexpected argument %q: give one DIR or MANIFEST", pos[1])}
	case f.concurrency < 1:
		return nil, "", usageError{"-concurrency must be at least 1"}
	case f.waitTimeout < 0:
		return nil, "", usageError{"-wait-timeout must not be negative"}
	}
	switch f.format {
	case "", formatCSV, formatJSONL:
	case "ndjson":
		f.format = formatJSONL
	default:
		return nil, "", usageError{fmt.Sprintf("-format %q: want csv or jsonl", f.format)}
	}
	// A bad shared flag is reported once, as bad usage, not once per item.
	probe := tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg", Folder: joinFolder(s.folder, "")}
	s.apply(&probe)
	var ve *tasks.ValidationError
	if err := probe.Validate(tasks.ValidateOptions{}); errors.As(err, &ve) {
		return nil, "", usageError{"the flags give every job a problem: " + problems(ve)}
	}
	return f, pos[0], nil
}

// bulkSource is what a run enqueues.
type bulkSource struct {
	items   []*bulkItem
	dir     string   // DIR's absolute path; "" for a manifest
	skipped []string // files of DIR left out, each with the reason
}

// readBulkSource reads the items of DIR or of a manifest.
func readBulkSource(arg, format string, stdin io.Reader) (*bulkSource, error) {
	if arg == "-" {
		if format == "" {
			return nil, usageError{"reading a manifest from stdin needs -format csv or -format jsonl"}
		}
		return manifestItems(stdin, format, "stdin")
	}
	fi, err := os.Stat(arg)
	if err != nil {
		return nil, usageError{fmt.Sprintf("cannot read %s: %v", arg, unwrapPath(err))}
	}
	if fi.IsDir() {
		if format != "" {
			return nil, usageError{"-format is for manifests, and " + arg + " is a directory"}
		}
		return walkDir(arg)
	}
	if format == "" {
		switch strings.ToLower(filepath.Ext(arg)) {
		case ".csv":
			format = formatCSV
		case ".jsonl", ".ndjson":
			format = formatJSONL
		default:
			return nil, usageError{fmt.Sprintf("cannot tell the format of %s: name it .csv, .jsonl or .ndjson, or give -format", arg)}
		}
	}
	file, err := os.Open(arg)
	if err != nil {
		return nil, usageError{fmt.Sprintf("cannot read %s: %v", arg, unwrapPath(err))}
	}
	defer file.Close()
	return manifestItems(file, format, arg)
}

// unwrapPath drops the path that an *fs.PathError repeats.
func unwrapPath(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func manifestItems(r io.Reader, format, name string) (*bulkSource, error) {
	read, err := readManifest(r, format)
	var le *lineError
	if errors.As(err, &le) { // a manifest that cannot be read past that line
		return nil, usageError{fmt.Sprintf("%s, %v", name, err)}
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", name, err)
	}
	items := make([]*bulkItem, len(read))
	for i, m := range read {
		items[i] = &bulkItem{line: m.Line, job: m.Job, invalid: m.Err != nil, err: m.Err}
	}
	return &bulkSource{items: items}, nil
}

// walkDir makes a job of every regular file under dir, in lexical order. Hidden files
// and folders are skipped without a word. A symlink is followed when it leads to a
// regular file inside dir; workers confine file:// sources to their root, symlinks
// resolved, in the same way. Other files are skipped with the reason.
func walkDir(dir string) (*bulkSource, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, usageError{fmt.Sprintf("cannot read %s: %v", dir, err)}
	}
	realRoot, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, usageError{fmt.Sprintf("cannot read %s: %v", dir, unwrapPath(err))}
	}
	src := &bulkSource{dir: abs}
	err = filepath.WalkDir(abs, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == abs {
			return nil
		}
		if strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			return nil
		}
		rel, err := filepath.Rel(abs, p)
		if err != nil {
			return err
		}
		name := filepath.Join(dir, rel)
		fi, err := os.Stat(p) // through a symlink
		switch {
		case err != nil:
			src.skipped = append(src.skipped, fmt.Sprintf("%s: %v", name, unwrapPath(err)))
		case fi.IsDir(): // a symlink to a folder
		case !fi.Mode().IsRegular():
			src.skipped = append(src.skipped, name+": not a regular file")
		case d.Type()&fs.ModeSymlink != 0 && !linkWithin(realRoot, p):
			src.skipped = append(src.skipped, fmt.Sprintf("%s: a symlink that leads outside %s", name, dir))
		default:
			src.items = append(src.items, &bulkItem{path: name, job: fileJob(p, rel), size: fi.Size(), mtime: fi.ModTime()})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", dir, err)
	}
	return src, nil
}

// linkWithin reports whether the symlink p resolves to a path under root.
func linkWithin(root, p string) bool {
	real, err := filepath.EvalSymlinks(p)
	if err != nil {
		return false
	}
	rel, err := filepath.Rel(root, real)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// fileJob is the job of the file at abs. rel is the file's path under DIR. Its
// folder comes from the folders between DIR and the file. Characters that ImageKit
// refuses in folder names become _, as ImageKit itself does with file names.
func fileJob(abs, rel string) *tasks.Upload {
	var segs []string
	if d := filepath.Dir(rel); d != "." {
		for _, seg := range strings.Split(filepath.ToSlash(d), "/") {
			segs = append(segs, strings.Map(func(r rune) rune {
				if unicode.IsLetter(r) || unicode.IsMark(r) || unicode.IsNumber(r) || r == '_' || r == '-' {
					return r
				}
				return '_'
			}, seg))
		}
	}
	return &tasks.Upload{
		File:     (&url.URL{Scheme: "file", Path: filepath.ToSlash(abs)}).String(),
		FileName: filepath.Base(abs),
		Folder:   "/" + strings.Join(segs, "/"),
	}
}

// prepare gives each job the shared options and its idempotency key, and validates
// it. It returns how many items are invalid.
func prepare(items []*bulkItem, s *bulkShared, opts tasks.ValidateOptions) int {
	invalid := 0
	for _, it := range items {
		if it.invalid {
			invalid++
			continue
		}
		// DIR's folders always go under the prefix ("/" by default). A manifest
		// item's folder goes under it only when -folder was given.
		if it.path != "" || s.folderSet {
			it.job.Folder = joinFolder(s.folder, it.job.Folder)
		}
		s.apply(it.job)
		if it.job.IdempotencyKey == "" {
			if it.path != "" {
				abs := strings.TrimPrefix(it.job.File, "file://")
				it.job.IdempotencyKey = fileKey(abs, it.size, it.mtime, it.job)
			} else {
				it.job.IdempotencyKey = specKey(it.job)
			}
		}
		if err := it.job.Validate(opts); err != nil {
			var ve *tasks.ValidationError
			if errors.As(err, &ve) {
				err = errors.New(problems(ve))
			}
			it.reject(fmt.Errorf("%s: %w", it.name(), err))
			invalid++
		}
	}
	return invalid
}

// problems is every problem of a rejected job. Each one is a sentence that names its
// field.
func problems(ve *tasks.ValidationError) string {
	msgs := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, " ")
}

// keyOf hashes parts into an idempotency key: "bulk:" and 128 bits of SHA-256. That
// is plenty to tell apart the jobs that one Redis holds.
func keyOf(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s", len(p), p) // length-prefixed: no two lists hash the same bytes
	}
	return "bulk:" + hex.EncodeToString(h.Sum(nil)[:16])
}

// fileKey is the idempotency key of a file of DIR. It is made from the file's path,
// size and modification time, so a changed file is a new job. It is also made from
// the job spec, so the same file sent elsewhere (another -folder, other -tags) is a
// new job too.
func fileKey(abs string, size int64, mtime time.Time, u *tasks.Upload) string {
	return keyOf("file", abs, strconv.FormatInt(size, 10), strconv.FormatInt(mtime.UnixNano(), 10), canonicalSpec(u))
}

// specKey is the idempotency key of a manifest item: its job spec.
func specKey(u *tasks.Upload) string {
	return keyOf("spec", canonicalSpec(u))
}

// canonicalSpec is the job's JSON without its idempotency key. Struct fields come in
// their order and map keys are sorted, so equal jobs give equal bytes.
func canonicalSpec(u *tasks.Upload) string {
	c := *u
	c.IdempotencyKey = ""
	b, err := json.Marshal(&c)
	if err != nil { // a decoded job always encodes
		panic("ikq bulk: encoding a job: " + err.Error())
	}
	return string(b)
}

// reportSkipped names the first files of DIR that were left out.
func reportSkipped(stderr io.Writer, skipped []string) {
	for i, s := range skipped {
		if i == maxListed {
			fmt.Fprintf(stderr, "skipped %d more\n", len(skipped)-maxListed)
			return
		}
		fmt.Fprintf(stderr, "skipped %s\n", s)
	}
}

// reportInvalid names the first invalid items on stderr. stdout lists all of them.
func reportInvalid(stderr io.Writer, items []*bulkItem, invalid int) {
	if invalid == 0 {
		return
	}
	fmt.Fprintf(stderr, "%s:\n", plural(invalid, "invalid item"))
	n := 0
	for _, it := range items {
		if !it.invalid {
			continue
		}
		if n++; n > maxListed {
			fmt.Fprintf(stderr, "  … and %d more (stdout lists every item)\n", invalid-maxListed)
			return
		}
		fmt.Fprintf(stderr, "  %v\n", it.err)
	}
}

// dryRun prints the specs of the valid items as JSON lines and enqueues nothing. URL
// secrets and inline bytes are redacted. Apart from those, the output is a manifest
// that a later run can read back.
func dryRun(stdout, stderr io.Writer, items []*bulkItem, invalid int) error {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if it.invalid {
			continue
		}
		r := it.job.Redacted()
		if err := enc.Encode(&r); err != nil {
			return err
		}
	}
	fmt.Fprintf(stderr, "%s: %d would be enqueued, %d invalid (dry run: nothing enqueued)\n", plural(len(items), "job"), len(items)-invalid, invalid)
	if invalid > 0 {
		return fmt.Errorf("%d of %d items are invalid", invalid, len(items))
	}
	return nil
}

// enqueueAll enqueues the valid items, several batches at once. It records each
// item's job, or the reason it was not enqueued.
func enqueueAll(ctx context.Context, p *producer.Client, items []*bulkItem, concurrency int, bar *progress) {
	defer bar.finish()
	valid := filter(items, func(it *bulkItem) bool { return !it.invalid })
	// Batches are small enough that every goroutine gets some and the bar moves.
	size := min(maxBatch, max(1, (len(valid)+4*concurrency-1)/(4*concurrency)))
	batches := make(chan []*bulkItem)
	go func() {
		defer close(batches)
		for b := range slices.Chunk(valid, size) {
			select {
			case batches <- b:
			case <-ctx.Done():
				return
			}
		}
	}()
	start := time.Now()
	var (
		mu   sync.Mutex
		seen = map[string]bool{}
		wg   sync.WaitGroup
	)
	for range concurrency {
		wg.Go(func() {
			for b := range batches {
				specs := make([]tasks.Upload, len(b))
				for i, it := range b {
					specs[i] = *it.job
				}
				res := p.EnqueueBatch(ctx, specs)
				mu.Lock()
				for i, r := range res {
					it := b[i]
					if r.Err != nil {
						it.err = fmt.Errorf("%s: %w", it.name(), r.Err)
						continue
					}
					it.id, it.status = r.Job.ID, r.Job.Status
					// For a key already in use, the producer returns that key's job. If
					// that job was created before this run, or seen earlier in this run,
					// then it was already enqueued.
					it.existed = seen[it.id] || r.Job.CreatedAt.Before(start) || r.Job.Status != jobstore.StatusQueued
					seen[it.id] = true
				}
				mu.Unlock()
				bar.add(len(b))
			}
		})
	}
	wg.Wait()
	for _, it := range valid {
		if it.id == "" && it.err == nil { // never handed out: ctx ended
			it.err = fmt.Errorf("%s: %w", it.name(), context.Cause(ctx))
		}
	}
}

// waitAll follows the enqueued jobs until each one ends. Then it prints every item
// and a summary.
func waitAll(ctx context.Context, p *producer.Client, items []*bulkItem, f *bulkFlags, stdout, stderr io.Writer) error {
	if f.waitTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, f.waitTimeout)
		defer cancel()
	}
	pending := filter(items, func(it *bulkItem) bool { return it.id != "" })
	if len(pending) > 0 {
		fmt.Fprintf(stderr, "waiting for %s to end\n", plural(len(pending), "job"))
	}
	bar := newProgress(stderr, "finished", len(pending))
	failedRounds := 0
	var waitErr error
	for len(pending) > 0 {
		still, err := poll(ctx, p, pending, f.concurrency)
		bar.add(len(pending) - len(still))
		pending = still
		if err == nil {
			failedRounds = 0
		} else if failedRounds++; failedRounds >= maxPollFailures {
			waitErr = fmt.Errorf("cannot read the jobs: %w", err)
			break
		}
		if len(pending) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			waitErr = fmt.Errorf("stopped waiting with %s still running: %w", plural(len(pending), "job"), ctx.Err())
		case <-time.After(pollEvery):
			continue
		}
		break
	}
	bar.finish()

	var completed, failed, canceled, invalid, notEnqueued, running int
	var unsuccessful []*bulkItem
	for _, it := range items {
		switch {
		case it.invalid:
			invalid++
		case it.id == "":
			notEnqueued++
		case it.final == nil && it.err == nil:
			running++
		case it.final == nil: // its record is gone
			failed++
			unsuccessful = append(unsuccessful, it)
		case it.final.Status == jobstore.StatusCompleted:
			completed++
		case it.final.Status == jobstore.StatusCanceled:
			canceled++
			unsuccessful = append(unsuccessful, it)
		default:
			failed++
			unsuccessful = append(unsuccessful, it)
		}
	}
	if len(unsuccessful) > 0 {
		fmt.Fprintln(stderr, "failed or canceled:")
		listGrouped(stderr, unsuccessful, outcomeMessage)
	}
	summary := fmt.Sprintf("%s: %d completed, %d failed, %d canceled, %d invalid", plural(len(items), "job"), completed, failed, canceled, invalid)
	if notEnqueued > 0 {
		summary += fmt.Sprintf(", %d not enqueued", notEnqueued)
	}
	if running > 0 {
		summary += fmt.Sprintf(", %d still running", running)
	}
	fmt.Fprintln(stderr, summary)
	if err := printItems(stdout, items); err != nil {
		return err
	}
	if waitErr != nil {
		return waitErr
	}
	if bad := len(items) - completed; bad > 0 {
		return fmt.Errorf("%d of %d items did not complete", bad, len(items))
	}
	return nil
}

// poll reads each pending job once, at most concurrency at a time, and returns the
// jobs still running. The error is the last read that failed, when no read succeeded.
func poll(ctx context.Context, p *producer.Client, pending []*bulkItem, concurrency int) ([]*bulkItem, error) {
	// Items of one job (repeated manifest lines) share a read.
	byID := map[string][]*bulkItem{}
	var ids []string
	for _, it := range pending {
		if byID[it.id] == nil {
			ids = append(ids, it.id)
		}
		byID[it.id] = append(byID[it.id], it)
	}
	var (
		mu      sync.Mutex
		wg      sync.WaitGroup
		ok      int
		lastErr error
		sem     = make(chan struct{}, concurrency)
	)
	for _, id := range ids {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			job, err := p.Get(ctx, id)
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, jobstore.ErrNotFound):
				ok++
				for _, it := range byID[id] {
					it.err = errors.New("the job's record is gone (deleted, or expired after its retention)")
				}
			case err != nil:
				lastErr = err
			default:
				ok++
				for _, it := range byID[id] {
					it.status = job.Status
					if job.Status.Final() {
						it.final = job
					}
				}
			}
		})
	}
	wg.Wait()
	still := filter(pending, func(it *bulkItem) bool { return it.final == nil && it.err == nil })
	if ok == 0 && lastErr != nil {
		return still, lastErr
	}
	return still, nil
}

// outcomeMessage says why an item's job did not complete.
func outcomeMessage(it *bulkItem) string {
	switch {
	case it.final == nil && it.err != nil:
		return it.err.Error()
	case it.final == nil:
		return "still running"
	case it.final.Error != nil && it.final.Error.Message != "":
		return it.final.Error.Message
	}
	return string(it.final.Status)
}

// listGrouped names each item with its message. When there are many, it groups
// them by message, with counts and a few example items for each message.
func listGrouped(w io.Writer, items []*bulkItem, message func(*bulkItem) string) {
	if len(items) <= maxListed {
		for _, it := range items {
			msg := message(it)
			if !strings.HasPrefix(msg, it.name()+":") {
				msg = it.name() + ": " + msg
			}
			fmt.Fprintf(w, "  %s\n", msg)
		}
		return
	}
	type group struct {
		msg   string
		items []string
	}
	var groups []*group
	index := map[string]*group{}
	for _, it := range items {
		msg := strings.TrimPrefix(message(it), it.name()+": ")
		g := index[msg]
		if g == nil {
			g = &group{msg: msg}
			index[msg] = g
			groups = append(groups, g)
		}
		g.items = append(g.items, it.name())
	}
	sort.SliceStable(groups, func(i, j int) bool { return len(groups[i].items) > len(groups[j].items) })
	for _, g := range groups {
		examples := strings.Join(g.items[:min(3, len(g.items))], ", ")
		if len(g.items) > 3 {
			examples += ", …"
		}
		fmt.Fprintf(w, "  %d× %s (%s)\n", len(g.items), g.msg, examples)
	}
}

// itemLine is an item's JSON line on stdout.
type itemLine struct {
	Line            int    `json:"line,omitempty"`
	Path            string `json:"path,omitempty"`
	ID              string `json:"id,omitempty"`
	Status          string `json:"status"` // the job's status, or invalid, or error (not enqueued)
	AlreadyEnqueued bool   `json:"alreadyEnqueued,omitempty"`
	URL             string `json:"url,omitempty"`
	Error           string `json:"error,omitempty"`
}

// printItems prints every item as a JSON line, in input order.
func printItems(stdout io.Writer, items []*bulkItem) error {
	enc := json.NewEncoder(stdout)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		l := itemLine{Line: it.line, Path: it.path, ID: it.id, Status: string(it.status), AlreadyEnqueued: it.existed}
		switch {
		case it.invalid:
			l.Status, l.Error = "invalid", it.err.Error()
		case it.id == "":
			l.Status, l.Error = "error", it.err.Error()
		case it.final != nil:
			var res struct {
				URL string `json:"url"`
			}
			_ = json.Unmarshal(it.final.Result, &res)
			l.URL = res.URL
			if it.final.Status != jobstore.StatusCompleted {
				l.Error = outcomeMessage(it)
			}
		case it.err != nil:
			l.Status, l.Error = "unknown", it.err.Error()
		}
		if err := enc.Encode(&l); err != nil {
			return err
		}
	}
	return nil
}

func filter(items []*bulkItem, keep func(*bulkItem) bool) []*bulkItem {
	var out []*bulkItem
	for _, it := range items {
		if keep(it) {
			out = append(out, it)
		}
	}
	return out
}

// plural is "1 job", "2 jobs".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return strconv.Itoa(n) + " " + noun + "s"
}

// progress shows how far a count has got. On a terminal it is a bar, redrawn in
// place. Anywhere else it is a line every few seconds, so CI logs stay short.
type progress struct {
	w      io.Writer
	label  string
	total  int
	tty    bool
	every  time.Duration // between draws
	mu     sync.Mutex
	done   int
	drawn  time.Time
	closed bool
}

func newProgress(w io.Writer, label string, total int) *progress {
	p := &progress{w: w, label: label, total: total, tty: isTerminal(w), every: 5 * time.Second, drawn: time.Now()}
	if p.tty {
		p.every = 100 * time.Millisecond
		p.draw()
	}
	return p
}

// isTerminal reports whether w is a terminal: a character device, unless TERM says
// that it cannot redraw a line.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

func (p *progress) add(n int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done += n
	if time.Since(p.drawn) >= p.every {
		p.draw()
	}
}

// finish draws the final state on a terminal. Elsewhere the summary that follows
// says it.
func (p *progress) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	if p.tty && p.total > 0 {
		p.draw()
		fmt.Fprintln(p.w)
	}
}

func (p *progress) draw() {
	p.drawn = time.Now()
	if p.total <= 0 {
		return
	}
	if !p.tty {
		fmt.Fprintf(p.w, "%s %d/%d\n", p.label, p.done, p.total)
		return
	}
	const width = 30
	fill := min(width, p.done*width/p.total)
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d %3d%%\x1b[K", p.label,
		strings.Repeat("=", fill), strings.Repeat(" ", width-fill), p.done, p.total, p.done*100/p.total)
}
