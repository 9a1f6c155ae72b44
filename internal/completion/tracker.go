package completion

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
)

// DefaultDeadline is how long items may stay pending when Config.Deadline is 0: past
// ImageKit's 24 hours of webhook retries.
const DefaultDeadline = 25 * time.Hour

// ErrUnknownJob: no job has this id. Errors that match it also match jobstore.ErrNotFound.
var ErrUnknownJob = errors.New("completion: no such job")

var (
	// errItemsChanged makes a write start over: the items changed between the read
	// that chose the target status and the write.
	errItemsChanged = errors.New("completion: items changed while being written")
	// errRerun stops the record of an upload on a job that is not active: it is made
	// active first.
	errRerun = errors.New("completion: job not active")
	// errStillPending stops a completion whose job has pending items after all.
	errStillPending = errors.New("completion: items still pending")
)

// maxRounds bounds the read-compute-write rounds of one call. Items only ever move
// up the rank order, so each round lost means an item became final meanwhile: a job
// with more items than this would need that many webhooks racing one write.
const maxRounds = 20

// Config configures a Tracker. Store, Redis and Queue are required; the zero value of
// the others means the default.
type Config struct {
	Store *jobstore.Store
	// Redis keeps the events parked for files no job has recorded yet. It must be the
	// Redis of Store (the keys live in the store's shards).
	Redis redis.UniversalClient
	// Queue enqueues the deadline, callback and relay tasks.
	Queue *asynq.Client
	// Deadline is how long items may stay pending before they become unknown; default
	// DefaultDeadline.
	Deadline time.Duration
	// Now is the clock the deadline is scheduled by; default time.Now.
	Now func() time.Time
	// Logger; default slog.Default().
	Logger *slog.Logger
}

func (c Config) validate() error {
	switch {
	case c.Store == nil:
		return errors.New("completion: Config.Store is nil")
	case c.Redis == nil:
		return errors.New("completion: Config.Redis is nil")
	case c.Queue == nil:
		return errors.New("completion: Config.Queue is nil")
	case c.Deadline < 0:
		return fmt.Errorf("completion: Config.Deadline is negative (%v)", c.Deadline)
	}
	return nil
}

// Tracker merges item statuses into jobs and ends the jobs whose items are all final.
// It is safe for concurrent use, by any number of processes sharing the Redis.
type Tracker struct {
	store    *jobstore.Store
	rdb      redis.UniversalClient
	queue    *asynq.Client
	deadline time.Duration
	now      func() time.Time
	log      *slog.Logger
}

var _ Merger = (*Tracker)(nil)

// New returns a Tracker. It panics when a required field of cfg is missing: that is a
// mistake of the program, not of its input.
func New(cfg Config) *Tracker {
	if err := cfg.validate(); err != nil {
		panic(err)
	}
	t := &Tracker{store: cfg.Store, rdb: cfg.Redis, queue: cfg.Queue,
		deadline: cfg.Deadline, now: cfg.Now, log: cfg.Logger}
	if t.deadline == 0 {
		t.deadline = DefaultDeadline
	}
	if t.now == nil {
		t.now = time.Now
	}
	if t.log == nil {
		t.log = slog.Default()
	}
	return t
}

// Upload is what the Upload API answered for a job.
type Upload struct {
	Result           json.RawMessage // the response body
	FileID, FilePath string
	// Items maps every requested extension and post-transformation to its status:
	// Pending unless the response already gave a final one. PreTransformItem when the
	// API answered 202. A status this package does not know counts as Pending.
	Items map[string]string
	// Message is the event the record gets; default "uploaded to <FilePath>".
	Message string
}

// RecordUpload records the upload of a job that is active, in one transition to
// completed when no item is pending, else to uploaded. Item statuses already on the
// job (a webhook that came before the upload was recorded) are merged with the
// response's, so an early final status wins; events parked for the file
// (ApplyForFile) are read in the round trip of that write and applied right after it
// (ApplyItem), which completes the job when they were the last pending items.
//
// A job in retrying or queued (a re-run: an earlier attempt's upload finished after a
// later attempt failed or was pushed back) is moved to active first. Recording the
// same upload again writes nothing and redoes the follow-ups below; recording on a
// failed or canceled job is a *jobstore.TransitionError.
//
// After the write: an uploaded job gets its deadline task, a completed one Finished.
// When one of these fails, RecordUpload returns the stored job with the error; calling
// it again with the same upload retries them.
func (t *Tracker) RecordUpload(ctx context.Context, jobID string, u Upload) (*jobstore.Job, error) {
	items := make(map[string]string, len(u.Items))
	for item, s := range u.Items {
		st, ok := parseStatus(s)
		if !ok {
			st = Pending
		}
		items[item] = st
	}
	// A status parked for the file early decides the target status only when the
	// response leaves items pending; then it is read first. Otherwise it is read in
	// the round trip of the write, and applied after it.
	var before map[string]string
	claimRead := ""
	if u.FileID != "" {
		claimRead = parkedKey(u.FileID)
		if len(pendingItems(items)) > 0 {
			var err error
			if before, err = t.store.ClaimFile(ctx, u.FileID, jobID, claimRead); err != nil {
				return nil, fmt.Errorf("completion: read parked statuses of file %s: %w", u.FileID, err)
			}
			claimRead = ""
		}
	}

	var (
		job    *jobstore.Job
		wrote  bool
		parked map[string]string
	)
	for round := 0; ; round++ {
		if round == maxRounds {
			return nil, fmt.Errorf("completion: record upload of job %s: %w (%d rounds)", jobID, jobstore.ErrConflict, maxRounds)
		}
		// One write, from the job as the store holds it: its status and message
		// follow from the items it has then. Setting FileID also maps the file to the
		// job, for ApplyForFile, and reads what was parked for the file.
		var recorded bool
		stored, claimed, err := t.store.Record(ctx, jobID, func(j *jobstore.Job) (jobstore.Status, string, error) {
			recorded = false // pick may run again after a lost write
			switch j.Status {
			case jobstore.StatusRetrying, jobstore.StatusQueued:
				return "", "", errRerun
			}
			want := mergeItems(j.Extensions, items, before)
			if (j.Status == jobstore.StatusUploaded || j.Status == jobstore.StatusCompleted) &&
				j.FileID == u.FileID && maps.Equal(want, j.Extensions) {
				recorded = true
				return "", "", nil
			}
			to, msg := jobstore.StatusCompleted, "uploaded to "+u.FilePath
			if u.Message != "" {
				msg = u.Message
			}
			if pending := pendingItems(want); len(pending) > 0 {
				to, msg = jobstore.StatusUploaded, msg+"; waiting for "+countItems(len(pending))
			}
			j.Result, j.FileID, j.Error, j.NextAttemptAt = u.Result, u.FileID, nil, nil
			if len(want) > 0 {
				j.Extensions = want
			}
			return to, msg, nil
		}, claimRead)
		if errors.Is(err, errRerun) {
			// An earlier attempt's upload finished after a later attempt failed or was
			// pushed back: the job is made active again, then recorded.
			_, err := t.store.Transition(ctx, jobID, jobstore.StatusActive, "an earlier attempt's upload finished", nil)
			if err != nil && !errors.Is(err, jobstore.ErrIllegalTransition) {
				return nil, t.jobError("record upload of", jobID, err)
			}
			continue
		}
		if err != nil {
			return nil, t.jobError("record upload of", jobID, err)
		}
		job, wrote, parked = stored, !recorded, claimed
		break
	}
	log := t.log.With("job_id", jobID, "attempt", job.Attempts)
	if wrote {
		log.Info("upload recorded", "file_id", u.FileID, "status", job.Status, "pending", pendingItems(job.Extensions))
	}

	switch {
	case before != nil:
		// Merged by the write; statuses parked since found the job by the lookup.
		if err := t.unpark(ctx, u.FileID, before); err != nil {
			return job, err
		}
	case u.FileID != "":
		if parked == nil {
			// The file was the job's already (recorded before, or by an earlier call
			// that stopped short): make sure of its lookup and read what is parked.
			var err error
			if parked, err = t.store.ClaimFile(ctx, u.FileID, jobID, parkedKey(u.FileID)); err != nil {
				return job, fmt.Errorf("completion: read parked statuses of file %s: %w", u.FileID, err)
			}
		}
		latest, err := t.applyParked(ctx, job, u.FileID, parked)
		if err != nil {
			return job, err
		}
		job = latest
	}
	switch {
	case job.Status == jobstore.StatusUploaded:
		if err := t.scheduleDeadline(ctx, jobID); err != nil {
			return job, err
		}
	case job.Status == jobstore.StatusCompleted && (wrote || callbackUnsent(job)):
		// A duplicate finishes only a job whose Finished did not get through: the
		// callback task may be gone already, delivered, and must not be sent again.
		if err := t.Finished(ctx, job); err != nil {
			return job, err
		}
	}
	return job, nil
}

// ApplyItem merges status into the job's item, whatever the job's status: a real
// answer after the deadline replaces unknown, and an item the job did not ask for is
// recorded too (ImageKit knows best). An uploaded job with nothing pending afterwards
// becomes completed and Finished. changed is false when the merge changed nothing.
func (t *Tracker) ApplyItem(ctx context.Context, jobID, item, status string) (changed bool, err error) {
	st, ok := parseStatus(status)
	if !ok {
		return false, fmt.Errorf("completion: job %s: item %q: unknown status %q", jobID, item, status)
	}
	if item == "" {
		return false, fmt.Errorf("completion: job %s: empty item name", jobID)
	}
	job, err := t.store.Update(ctx, jobID, func(j *jobstore.Job) error {
		changed = false // mutate may run again after a lost write
		next := mergeItem(j.Extensions, item, st)
		if old, ok := j.Extensions[item]; ok && old == next {
			return nil
		}
		if j.Extensions == nil {
			j.Extensions = map[string]string{}
		}
		j.Extensions[item] = next
		changed = true
		return nil
	})
	if err != nil {
		return false, t.jobError("apply item to", jobID, err)
	}
	if changed {
		t.log.Info("item status", "job_id", jobID, "attempt", job.Attempts, "item", item, "status", job.Extensions[item])
	}
	// Checked for duplicates too: it finishes a completion an earlier call did not.
	if job.Status == jobstore.StatusUploaded && len(pendingItems(job.Extensions)) == 0 {
		if err := t.complete(ctx, jobID, "all items final", nil); err != nil {
			return changed, err
		}
	}
	return changed, nil
}

// complete moves an uploaded job with no pending item to completed and calls
// Finished. mark (may be nil) edits the job first. A job completed meanwhile is left
// to whoever completed it.
func (t *Tracker) complete(ctx context.Context, jobID, msg string, mark func(*jobstore.Job) error) error {
	job, err := t.store.Transition(ctx, jobID, jobstore.StatusCompleted, msg, func(j *jobstore.Job) error {
		if mark != nil {
			if err := mark(j); err != nil {
				return err
			}
		}
		if len(pendingItems(j.Extensions)) > 0 {
			return errStillPending
		}
		return nil
	})
	switch {
	case errors.Is(err, errStillPending), errors.Is(err, jobstore.ErrIllegalTransition):
		return nil
	case err != nil:
		return t.jobError("complete", jobID, err)
	}
	t.log.Info("job completed", "job_id", jobID, "attempt", job.Attempts, "reason", msg)
	return t.Finished(ctx, job)
}

// jobError translates a jobstore error of an operation on job id.
func (t *Tracker) jobError(op, id string, err error) error {
	if errors.Is(err, jobstore.ErrNotFound) {
		return fmt.Errorf("%w: %s (%w)", ErrUnknownJob, id, err)
	}
	return fmt.Errorf("completion: %s job %s: %w", op, id, err)
}

// parseStatus accepts the statuses of this package, in any case.
func parseStatus(s string) (string, bool) {
	s = strings.ToLower(strings.TrimSpace(s))
	_, ok := rank[s]
	return s, ok
}

// mergeItem is the status item has in m after seeing status.
func mergeItem(m map[string]string, item, status string) string {
	if old, ok := m[item]; ok {
		return Merge(old, status)
	}
	return status
}

// mergeItems returns a new map: base with every item of the overlays merged in.
func mergeItems(base map[string]string, overlays ...map[string]string) map[string]string {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]string{}
	}
	for _, o := range overlays {
		for item, s := range o {
			out[item] = mergeItem(out, item, s)
		}
	}
	return out
}

// pendingItems returns the names of the items not final, sorted.
func pendingItems(m map[string]string) []string {
	var names []string
	for item, s := range m {
		if !IsFinal(s) {
			names = append(names, item)
		}
	}
	slices.Sort(names)
	return names
}

func countItems(n int) string {
	if n == 1 {
		return "1 item"
	}
	return fmt.Sprintf("%d items", n)
}
