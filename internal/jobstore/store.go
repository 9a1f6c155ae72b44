package jobstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// DefaultRetention is how long finished jobs are kept when Options.Retention is 0.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultMaxEvents is the timeline length when Options.MaxEvents is 0.
	DefaultMaxEvents = 50

	// maxWriteAttempts bounds the compare-and-set retries of one write. Each lost
	// round means another writer won, so this takes 50 concurrent writers to one job.
	maxWriteAttempts = 50

	// createdMessage is the message of a job's first event.
	createdMessage = "accepted"

	// Every key of the store shares the {jobs} hash tag: one cluster slot, so the
	// scripts may touch any of them together.
	prefix = "ikq:{jobs}:"
)

func jobKey(id string) string        { return prefix + "job:" + id }
func statusKey(s Status) string      { return prefix + "status:" + string(s) }
func byFileKey(fileID string) string { return prefix + "byfile:" + fileID }

const allKey = prefix + "all"

// idemKey hashes the key: it is the caller's string, of any length and bytes.
func idemKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return prefix + "idem:" + hex.EncodeToString(sum[:])
}

// indexKeys are the index of all jobs and every status index.
func indexKeys() []string {
	keys := []string{allKey}
	for _, s := range statuses {
		keys = append(keys, statusKey(s))
	}
	return keys
}

// Options configure a Store. The zero value means the defaults.
type Options struct {
	// Retention is how long a finished (completed, failed, canceled) job is kept
	// after its last write; default 7 days. Negative: finished jobs never expire.
	Retention time.Duration
	// MaxEvents is the length of the timeline kept: the oldest events are dropped,
	// except the first ("queued"); default 50.
	MaxEvents int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store keeps job records in Redis. It is safe for concurrent use, by any number of
// processes sharing the Redis.
type Store struct {
	rdb       redis.UniversalClient
	retention time.Duration // <= 0: no expiry
	maxEvents int
	now       func() time.Time
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{rdb: rdb, retention: opts.Retention, maxEvents: opts.MaxEvents, now: opts.Now}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	if s.maxEvents <= 0 {
		s.maxEvents = DefaultMaxEvents
	}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

func (s *Store) clock() time.Time { return s.now().UTC() }

// ttlMillis is the expiry a job in status st gets: none unless it is finished.
func (s *Store) ttlMillis(st Status) int64 {
	if !st.Final() || s.retention <= 0 {
		return 0
	}
	return max(s.retention.Milliseconds(), 1)
}

// Create stores a new job: it sets ID (when empty), CreatedAt, UpdatedAt, Status
// queued and the first event, and returns the stored job; j itself is not modified.
// spec, the job spec as the worker needs it (sources' secrets included), is stored
// beside the record, never in it: Get leaves it out and Spec reads it.
//
// With an IdempotencyKey, Create is atomic: when the key names a job that still
// exists, it returns that job and existed=true, and stores nothing. The key lives as
// long as its job. A given ID that is in use is an ErrConflict.
func (s *Store) Create(ctx context.Context, j *Job, spec json.RawMessage) (stored *Job, existed bool, err error) {
	if j == nil {
		return nil, false, errors.New("jobstore: Create: nil job")
	}
	now := s.clock()
	job := *j
	if job.ID == "" {
		job.ID = NewID(now)
	}
	job.Status = StatusQueued
	job.CreatedAt, job.UpdatedAt = now, now
	job.Events = []Event{{Time: now, State: StatusQueued, Message: createdMessage}}
	doc, err := json.Marshal(&job)
	if err != nil {
		return nil, false, fmt.Errorf("jobstore: encode job %s: %w", job.ID, err)
	}

	keys := []string{jobKey(job.ID), allKey, statusKey(StatusQueued), jobKey(job.ID), jobKey(job.ID)}
	if job.IdempotencyKey != "" {
		keys[3] = idemKey(job.IdempotencyKey)
	}
	created := strconv.FormatInt(now.UnixMilli(), 10)
	if job.Run != "" {
		keys = append(append(keys, runsKey), runKeys(job.Run)...)
	}
	for range maxWriteAttempts {
		var seen string // the job id the idempotency key named when read
		if job.IdempotencyKey != "" {
			seen, err = s.rdb.Get(ctx, keys[3]).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, false, fmt.Errorf("jobstore: read idempotency key: %w", err)
			}
			keys[4] = jobKey(job.ID)
			if seen != "" {
				keys[4] = jobKey(seen)
			}
		}
		res, err := createScript.Run(ctx, s.rdb, keys, job.ID, doc, string(StatusQueued), seen, string(spec),
			job.Run, created, runMember(now.UnixMilli(), job.Run)).StringSlice()
		if err != nil {
			return nil, false, fmt.Errorf("jobstore: create job %s: %w", job.ID, err)
		}
		switch res[0] {
		case "created":
			stored, err := decode(job.ID, doc, string(StatusQueued))
			return stored, false, err
		case "existed":
			if len(res) != 3 {
				return nil, false, fmt.Errorf("jobstore: create: unexpected script reply %q", res)
			}
			stored, err := decode(seen, []byte(res[1]), res[2])
			return stored, true, err
		case "taken":
			return nil, false, fmt.Errorf("%w: job %s already exists", ErrConflict, job.ID)
		case "stale":
			continue
		default:
			return nil, false, fmt.Errorf("jobstore: create: unexpected script reply %q", res)
		}
	}
	return nil, false, fmt.Errorf("%w: idempotency key of job %s kept changing", ErrConflict, job.ID)
}

// Spec returns the job spec stored with the job by Create, or ErrNotFound.
func (s *Store) Spec(ctx context.Context, id string) (json.RawMessage, error) {
	b, err := s.rdb.HGet(ctx, jobKey(id), "spec").Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if err != nil {
		return nil, fmt.Errorf("jobstore: read spec of job %s: %w", id, err)
	}
	return b, nil
}

// Get returns the job, ErrNotFound, or ErrCorrupt for a record this package did not
// write.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	j, _, err := s.read(ctx, id)
	return j, err
}

// raw is a job hash as stored.
type raw struct {
	doc, v, status string
	hasDoc         bool
}

func (s *Store) readRaw(ctx context.Context, id string) (raw, error) {
	if id == "" {
		return raw{}, ErrNotFound
	}
	vals, err := s.rdb.HMGet(ctx, jobKey(id), "doc", "v", "status").Result()
	if err != nil {
		return raw{}, fmt.Errorf("jobstore: read job %s: %w", id, err)
	}
	var r raw
	r.doc, r.hasDoc = vals[0].(string)
	r.v, _ = vals[1].(string)
	r.status, _ = vals[2].(string)
	if !r.hasDoc && r.v == "" && r.status == "" {
		return raw{}, ErrNotFound
	}
	return r, nil
}

// read returns the job and the version it was read at.
func (s *Store) read(ctx context.Context, id string) (*Job, string, error) {
	r, err := s.readRaw(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if !r.hasDoc || r.v == "" {
		return nil, "", fmt.Errorf("%w: job %s: incomplete record", ErrCorrupt, id)
	}
	j, err := decode(id, []byte(r.doc), r.status)
	return j, r.v, err
}

// decode parses a stored doc and checks it against the hash it came from.
func decode(id string, doc []byte, status string) (*Job, error) {
	var j Job
	if err := json.Unmarshal(doc, &j); err != nil {
		return nil, fmt.Errorf("%w: job %s: %w", ErrCorrupt, id, err)
	}
	switch {
	case j.ID != id:
		return nil, fmt.Errorf("%w: job %s: record has id %q", ErrCorrupt, id, j.ID)
	case !j.Status.Valid():
		return nil, fmt.Errorf("%w: job %s: unknown status %q", ErrCorrupt, id, j.Status)
	case string(j.Status) != status:
		return nil, fmt.Errorf("%w: job %s: record says %q, index field %q", ErrCorrupt, id, j.Status, status)
	}
	return &j, nil
}

// Transition moves the job to status to, appends the event {now, to, msg} and sets
// UpdatedAt; mutate (may be nil) edits other fields first. An illegal move is a
// *TransitionError (errors.Is ErrIllegalTransition) and changes nothing. Entering a
// finished status starts the retention clock on the job and its idempotency and
// byfile keys; leaving one (a retry) stops it.
//
// mutate runs on a fresh copy of the stored job and may run more than once, when a
// concurrent write wins; it must not change ID, Status, IdempotencyKey or Run. An error
// from mutate is returned as is and nothing is written.
func (s *Store) Transition(ctx context.Context, id string, to Status, msg string, mutate func(*Job) error) (*Job, error) {
	return s.write(ctx, id, func(j *Job, now time.Time) (bool, error) {
		from := j.Status
		if !CanTransition(from, to) {
			return false, &TransitionError{ID: id, From: from, To: to}
		}
		if mutate != nil {
			if err := mutate(j); err != nil {
				return false, err
			}
			if j.Status != from {
				return false, errImmutable
			}
		}
		j.Status = to
		j.Events = append(j.Events, Event{Time: now, State: to, Message: msg})
		return true, nil
	})
}

// Update edits the job with mutate, with the same compare-and-set as Transition but
// no status change and no event unless mutate adds one. When mutate changes nothing,
// nothing is written (UpdatedAt stays), so applying a duplicate is free.
func (s *Store) Update(ctx context.Context, id string, mutate func(*Job) error) (*Job, error) {
	return s.write(ctx, id, func(j *Job, _ time.Time) (bool, error) {
		if mutate == nil {
			return false, nil
		}
		before, err := json.Marshal(j)
		if err != nil {
			return false, err
		}
		status := j.Status
		if err := mutate(j); err != nil {
			return false, err
		}
		if j.Status != status {
			return false, errImmutable
		}
		after, err := json.Marshal(j)
		if err != nil {
			return false, fmt.Errorf("jobstore: encode job %s: %w", id, err)
		}
		return !bytes.Equal(before, after), nil
	})
}

// JobForFile returns the id of the job that uploaded fileID, or ErrNotFound.
func (s *Store) JobForFile(ctx context.Context, fileID string) (string, error) {
	if fileID == "" {
		return "", ErrNotFound
	}
	id, err := s.rdb.Get(ctx, byFileKey(fileID)).Result()
	if errors.Is(err, redis.Nil) {
		return "", ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("jobstore: job for file %s: %w", fileID, err)
	}
	return id, nil
}

// errImmutable is returned when a mutate function changes what identifies a job.
var errImmutable = errors.New("jobstore: mutate must not change ID, Status, IdempotencyKey or Run (use Transition for Status)")

// write is the compare-and-set loop behind Transition and Update: read, change, write
// if the version is unchanged, else again. change reports whether to write. The job's
// fileId is pointed at the job when it changed.
func (s *Store) write(ctx context.Context, id string, change func(j *Job, now time.Time) (bool, error)) (*Job, error) {
	for range maxWriteAttempts {
		j, v, err := s.read(ctx, id)
		if err != nil {
			return nil, err
		}
		from, fileBefore, idem, run := j.Status, j.FileID, j.IdempotencyKey, j.Run
		now := s.clock()
		changed, err := change(j, now)
		if err != nil {
			return nil, err
		}
		if j.ID != id || j.IdempotencyKey != idem || j.Run != run {
			return nil, errImmutable
		}
		if !changed {
			return j, nil
		}
		j.UpdatedAt = now
		j.Events = capEvents(j.Events, s.maxEvents)
		doc, err := json.Marshal(j)
		if err != nil {
			return nil, fmt.Errorf("jobstore: encode job %s: %w", id, err)
		}

		self := jobKey(id)
		keys := []string{self, allKey, statusKey(from), statusKey(j.Status), self, self, self}
		if idem != "" {
			keys[4] = idemKey(idem)
		}
		if j.FileID != "" {
			keys[5] = byFileKey(j.FileID)
		}
		if fileBefore != "" && fileBefore != j.FileID {
			keys[6] = byFileKey(fileBefore)
		}
		claim := "0"
		if j.FileID != fileBefore {
			claim = "1"
		}
		if run != "" {
			keys = append(keys, runKeys(run)...)
		}
		n, err := writeScript.Run(ctx, s.rdb, keys, id, v, doc, string(j.Status), s.ttlMillis(j.Status), claim,
			statusIndex(from), statusIndex(j.Status), s.runTTLMillis()).Int()
		if err != nil {
			return nil, fmt.Errorf("jobstore: write job %s: %w", id, err)
		}
		switch n {
		case 1:
			return j, nil
		case -1:
			return nil, ErrNotFound
		}
		// 0: another writer won; read its version and apply the change again.
	}
	return nil, fmt.Errorf("%w: job %s changed %d times while being written", ErrConflict, id, maxWriteAttempts)
}

// capEvents keeps the first event and the newest n-1.
func capEvents(events []Event, n int) []Event {
	if len(events) <= n {
		return events
	}
	kept := make([]Event, 0, n)
	kept = append(kept, events[0])
	return append(kept, events[len(events)-(n-1):]...)
}

// Delete removes the job, its index entries, and its idempotency and byfile keys
// (used to undo a Create whose enqueue failed). It returns ErrNotFound when there is
// no such job; a corrupt record is deleted all the same.
func (s *Store) Delete(ctx context.Context, id string) error {
	for range maxWriteAttempts {
		r, err := s.readRaw(ctx, id)
		if errors.Is(err, ErrNotFound) {
			_, _ = s.prune(ctx, id) // tidy the indexes if it expired
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		self := jobKey(id)
		keys := append([]string{self, self, self}, indexKeys()...)
		version := r.v
		if j, err := decode(id, []byte(r.doc), r.status); err == nil && r.v != "" {
			if j.IdempotencyKey != "" {
				keys[1] = idemKey(j.IdempotencyKey)
			}
			if j.FileID != "" {
				keys[2] = byFileKey(j.FileID)
			}
			if j.Run != "" {
				keys = append(keys, runKeys(j.Run)[1:]...) // its sets, not the run itself
			}
		} else {
			version = "" // corrupt: delete whatever is there
		}
		n, err := deleteScript.Run(ctx, s.rdb, keys, id, version).Int()
		if err != nil {
			return fmt.Errorf("jobstore: delete job %s: %w", id, err)
		}
		switch n {
		case 1:
			return nil
		case -1:
			return ErrNotFound
		}
	}
	return fmt.Errorf("%w: job %s changed %d times while being deleted", ErrConflict, id, maxWriteAttempts)
}

// prune removes the index entries of id if its job no longer exists, and reports
// whether it did.
func (s *Store) prune(ctx context.Context, id string, also ...string) (bool, error) {
	keys := append(append([]string{jobKey(id)}, indexKeys()...), also...)
	n, err := pruneScript.Run(ctx, s.rdb, keys, id).Int()
	if err != nil {
		return false, fmt.Errorf("jobstore: prune job %s: %w", id, err)
	}
	return n == 1, nil
}
