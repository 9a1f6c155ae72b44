package bulk

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/tasks"
)

// Plan holds the options every job of a run shares.
type Plan struct {
	// Folder is the folder prefix: a folder's subfolders, or a manifest item's folder
	// when FolderSet, go under it. Default /.
	Folder    string
	FolderSet bool
	// Tags are added to every job's tags.
	Tags []string
	// Queue, MaxAttempts and CallbackURL fill the jobs that leave them unset.
	Queue       string
	MaxAttempts int
	CallbackURL string
	// Unique asks for unique file names: a suffix derived from the source's identity,
	// so the same source always lands on the same path. nil keeps each job's own
	// choice, and names as they are when it has none (bulk's default).
	Unique *bool
	// IfExists is what jobs do when their destination holds a file; default skip.
	IfExists string
	// Run is the run's id, carried in every job.
	Run string
	// Include and Exclude are globs (doublestar) on the items' paths: see excludes.
	Include, Exclude []string
}

// NewRunID makes a run id: the time and a random part, sortable by start.
func NewRunID(now time.Time) string {
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	return "bulk-" + now.UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// prepare gives the item's job the shared options, its destination and its
// idempotency key, and validates it; an invalid item gets err.
func (p *Plan) prepare(it *item, opts tasks.ValidateOptions) {
	if it.err != nil {
		return
	}
	u := it.job
	// A folder's subfolders always go under the prefix ("/" by default). A
	// manifest item's folder goes under it only when -folder was given.
	if it.path != "" || p.FolderSet {
		u.Folder = joinFolder(p.Folder, u.Folder)
	}
	for _, t := range p.Tags {
		if !slices.Contains(u.Tags, t) {
			u.Tags = append(u.Tags, t)
		}
	}
	if u.Queue == "" {
		u.Queue = p.Queue
	}
	if u.MaxAttempts == 0 {
		u.MaxAttempts = p.MaxAttempts
	}
	if u.CallbackURL == "" {
		u.CallbackURL = p.CallbackURL
	}
	if u.IfExists == "" {
		u.IfExists = p.IfExists
		if u.IfExists == "" {
			u.IfExists = tasks.IfExistsSkip
		}
	}
	u.Run = p.Run
	unique := u.UseUniqueFileName
	if unique == nil {
		unique = p.Unique
	}
	// A unique name made by the worker would come from the job id, a new path for
	// every run: bulk makes it here, from the source, and asks for the name as is.
	if unique != nil && *unique && u.FileName != "" {
		u.FileName = uniqueName(tasks.CleanFileName(u.FileName), it.ref)
	}
	no := false
	u.UseUniqueFileName = &no
	if u.IdempotencyKey == "" {
		u.IdempotencyKey = itemKey(it)
	}
	if err := u.Validate(opts); err != nil {
		var ve *tasks.ValidationError
		if errors.As(err, &ve) {
			err = errors.New(problems(ve))
		}
		it.err = fmt.Errorf("%s: %w", it.name(), err)
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

// problems is every problem of a rejected job. Each one is a sentence that names its
// field.
func problems(ve *tasks.ValidationError) string {
	msgs := make([]string, len(ve.Problems))
	for i, p := range ve.Problems {
		msgs[i] = p.Message
	}
	return strings.Join(msgs, " ")
}

// itemKey is an item's idempotency key: its source's identity and size, and the job
// spec, run included. Not its modification time: a touched file is the same item,
// and a re-run in a new run asks ImageKit, not Redis, what is already there.
func itemKey(it *item) string {
	return keyOf("item", it.ref, strconv.FormatInt(it.size, 10), canonicalSpec(it.job))
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

// canonicalSpec is the job's JSON without its idempotency key. Struct fields come in
// their order and map keys are sorted, so equal jobs give equal bytes.
func canonicalSpec(u *tasks.Upload) string {
	c := *u
	c.IdempotencyKey = ""
	b, err := json.Marshal(&c)
	if err != nil { // a decoded job always encodes
		panic("bulk: encoding a job: " + err.Error())
	}
	return string(b)
}

// uniqueName inserts a suffix in ImageKit's own shape (_ and 9 letters and digits,
// before the extension) derived from the source's identity: the same source gets the
// same name in every run.
func uniqueName(name, ref string) string {
	return tasks.SuffixedName(name, "ikq-bulk-source\x00"+ref)
}
