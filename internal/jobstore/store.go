package jobstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	// DefaultRetention is how long finished jobs are kept when Options.Retention is 0.
	DefaultRetention = 7 * 24 * time.Hour
	// DefaultMaxEvents is the timeline length when Options.MaxEvents is 0.
	DefaultMaxEvents = 50
	// DefaultFinishedEvents is the timeline length of a finished job when
	// Options.FinishedEvents is 0.
	DefaultFinishedEvents = 10
	// DefaultWaitTimeout bounds the wait for replicas when Options.WaitTimeout is 0.
	DefaultWaitTimeout = time.Second

	// maxWriteAttempts bounds the compare-and-set retries of one write. Each lost
	// round means another writer won, so this takes 50 concurrent writers to one job.
	maxWriteAttempts = 50

	// minByFileTTL is the shortest life of a byfile key: longer than ImageKit retries
	// the webhooks of a file (24 hours), which find their job by it.
	minByFileTTL = 48 * time.Hour

	// createdMessage is the message of a job's first event.
	createdMessage = "accepted"
)

// Options configure a Store. The zero value means the defaults.
type Options struct {
	// Retention is how long a finished (completed, failed, canceled) job is kept
	// after its last write; default 7 days. Negative: finished jobs never expire.
	Retention time.Duration
	// MaxEvents is the length of the timeline kept: the oldest events are dropped,
	// except the first ("queued"); default 50.
	MaxEvents int
	// FinishedEvents is the length of a finished job's timeline, kept for the whole
	// retention: its first event and the newest FinishedEvents-1; default 10, at most
	// MaxEvents.
	FinishedEvents int
	// WaitReplicas makes Create wait until this many replicas of the Redis node that
	// took the write have it (Redis WAIT), so that a failover does not lose a job the
	// caller was told about; fewer within WaitTimeout is an error matching
	// ErrNotReplicated. 0: no wait.
	WaitReplicas int
	// WaitTimeout bounds that wait; default 1s.
	WaitTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// Store keeps job records in Redis. It is safe for concurrent use, by any number of
// processes sharing the Redis.
type Store struct {
	rdb            redis.UniversalClient
	retention      time.Duration // <= 0: no expiry
	maxEvents      int
	finishedEvents int
	waitReplicas   int
	waitTimeout    time.Duration
	now            func() time.Time

	// held remembers the jobs this Store wrote last (held.go).
	heldMu sync.Mutex
	held   map[string]held

	// listed remembers the runs this Store put in the list of runs lately.
	listedMu sync.Mutex
	listed   map[string]time.Time
}

// New returns a Store on rdb.
func New(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{rdb: rdb, retention: opts.Retention, maxEvents: opts.MaxEvents,
		finishedEvents: opts.FinishedEvents, waitReplicas: max(opts.WaitReplicas, 0),
		waitTimeout: opts.WaitTimeout, now: opts.Now, listed: map[string]time.Time{}, held: map[string]held{}}
	if s.retention == 0 {
		s.retention = DefaultRetention
	}
	if s.maxEvents <= 0 {
		s.maxEvents = DefaultMaxEvents
	}
	if s.finishedEvents <= 0 {
		s.finishedEvents = DefaultFinishedEvents
	}
	s.finishedEvents = min(s.finishedEvents, s.maxEvents)
	if s.waitTimeout <= 0 {
		s.waitTimeout = DefaultWaitTimeout
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

// byFileTTL is the life of a byfile key from the moment its job took the file: the
// retention, and at least minByFileTTL, so that it outlives the webhooks of an
// uploaded job (0: no expiry). It is set once, as the key is written, in a slot of
// its own: nothing has to keep it in step with its job.
func (s *Store) byFileTTL() time.Duration {
	if s.retention <= 0 {
		return 0
	}
	return max(s.retention, minByFileTTL)
}

// Spec returns the job spec stored with the job by Create, or ErrNotFound. A
// completed job keeps only the fields read after completion (callbackUrl,
// webhookUrl); one without either has the spec {}.
func (s *Store) Spec(ctx context.Context, id string) (json.RawMessage, error) {
	if id == "" {
		return nil, fmt.Errorf("%w: empty job id", ErrNotFound)
	}
	vals, err := s.rdb.HMGet(ctx, jobKey(id), "spec", "v").Result()
	if err != nil {
		return nil, fmt.Errorf("jobstore: read spec of job %s: %w", id, err)
	}
	spec, hasSpec := vals[0].(string)
	if _, exists := vals[1].(string); !exists && !hasSpec {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	if !hasSpec {
		return json.RawMessage("{}"), nil
	}
	return json.RawMessage(spec), nil
}

// Get returns the job, ErrNotFound, or ErrCorrupt for a record this package did not
// write.
func (s *Store) Get(ctx context.Context, id string) (*Job, error) {
	j, _, _, err := s.read(ctx, id, false)
	return j, err
}

// raw is a job hash as stored.
type raw struct {
	doc, v, status, spec string
	hasDoc, hasSpec      bool
}

// readRaw reads a job hash, and its spec too when withSpec.
func (s *Store) readRaw(ctx context.Context, id string, withSpec bool) (raw, error) {
	if id == "" {
		return raw{}, ErrNotFound
	}
	fields := []string{"doc", "v", "status"}
	if withSpec {
		fields = append(fields, "spec")
	}
	vals, err := s.rdb.HMGet(ctx, jobKey(id), fields...).Result()
	if err != nil {
		return raw{}, fmt.Errorf("jobstore: read job %s: %w", id, err)
	}
	var r raw
	r.doc, r.hasDoc = vals[0].(string)
	r.v, _ = vals[1].(string)
	r.status, _ = vals[2].(string)
	if withSpec {
		r.spec, r.hasSpec = vals[3].(string)
	}
	if !r.hasDoc && r.v == "" && r.status == "" {
		return raw{}, ErrNotFound
	}
	return r, nil
}

// read returns the job and the version it was read at, and its spec when withSpec
// ({} for a job without one, as Spec).
func (s *Store) read(ctx context.Context, id string, withSpec bool) (*Job, string, json.RawMessage, error) {
	r, err := s.readRaw(ctx, id, withSpec)
	if err != nil {
		return nil, "", nil, err
	}
	if !r.hasDoc || r.v == "" {
		return nil, "", nil, fmt.Errorf("%w: job %s: incomplete record", ErrCorrupt, id)
	}
	j, err := decode(id, []byte(r.doc), r.status)
	var spec json.RawMessage
	if withSpec {
		spec = json.RawMessage("{}")
		if r.hasSpec {
			spec = json.RawMessage(r.spec)
		}
	}
	return j, r.v, spec, err
}

// decode parses a stored doc (JSON, or deflated: see compact.go) and checks it
// against the hash it came from.
func decode(id string, doc []byte, status string) (*Job, error) {
	doc, err := expandDoc(doc)
	if err != nil {
		return nil, fmt.Errorf("%w: job %s: %w", ErrCorrupt, id, err)
	}
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
// finished status starts the retention clock on the job and its idempotency key;
// leaving one (a retry) stops it.
//
// mutate runs on a fresh copy of the stored job and may run more than once, when a
// concurrent write wins; it must not change ID, Status, IdempotencyKey or Run. An error
// from mutate is returned as is and nothing is written.
func (s *Store) Transition(ctx context.Context, id string, to Status, msg string, mutate func(*Job) error) (*Job, error) {
	j, _, err := s.write(ctx, id, writeReq{change: moveTo(id, func(j *Job, _ json.RawMessage) (Status, string, error) {
		if mutate != nil && CanTransition(j.Status, to) {
			if err := mutate(j); err != nil {
				return "", "", err
			}
		}
		return to, msg, nil
	})})
	return j, err
}

// Start is Transition for the start of an attempt: the job's spec (as Spec returns
// it) is read with the job, in one round trip, and given to mutate, which runs only
// when the move is legal.
func (s *Store) Start(ctx context.Context, id string, to Status, msg string, mutate func(j *Job, spec json.RawMessage) error) (*Job, error) {
	j, _, err := s.write(ctx, id, writeReq{withSpec: true, change: moveTo(id, func(j *Job, spec json.RawMessage) (Status, string, error) {
		if mutate != nil && CanTransition(j.Status, to) {
			if err := mutate(j, spec); err != nil {
				return "", "", err
			}
		}
		return to, msg, nil
	})})
	return j, err
}

// Record is Transition with the status and the event's message chosen by pick from
// the job as stored (pick edits other fields as mutate does; to == "" writes nothing
// and returns the job as stored). When the write gives the job another FileID, the
// file's lookup (JobForFile) is pointed at the job in the same round trip, and the
// hash readWithClaim, a key of the file's shard (SpreadKey), is read in the step that
// does it and returned; "" reads nothing.
func (s *Store) Record(ctx context.Context, id string, pick func(j *Job) (to Status, msg string, err error), readWithClaim string) (*Job, map[string]string, error) {
	return s.write(ctx, id, writeReq{claimRead: readWithClaim, change: moveTo(id, func(j *Job, _ json.RawMessage) (Status, string, error) {
		return pick(j)
	})})
}

// ClaimFile points the lookup of fileID at job id unless it names a job already, and
// returns the hash readWithClaim of the file's shard read in the same step (see
// Record).
func (s *Store) ClaimFile(ctx context.Context, fileID, id, readWithClaim string) (map[string]string, error) {
	if fileID == "" || id == "" {
		return nil, fmt.Errorf("jobstore: ClaimFile: need a file id and a job id (got %q, %q)", fileID, id)
	}
	keys := []string{byFileKey(fileID), byFileKey(fileID)}
	if readWithClaim != "" {
		keys[1] = readWithClaim
	}
	m, err := claimScript.Run(ctx, s.rdb, keys, id, s.byFileTTL().Milliseconds(), "1").StringSlice()
	if err != nil {
		return nil, fmt.Errorf("jobstore: record file %s of job %s: %w", fileID, id, err)
	}
	return pairs(m), nil
}

// pairs is a map of a reply field, value, ….
func pairs(m []string) map[string]string {
	out := make(map[string]string, len(m)/2)
	for i := 0; i+1 < len(m); i += 2 {
		out[m[i]] = m[i+1]
	}
	return out
}

// moveTo makes the change of a status move whose target pick chooses.
func moveTo(id string, pick func(j *Job, spec json.RawMessage) (Status, string, error)) func(*Job, json.RawMessage, time.Time) (bool, error) {
	return func(j *Job, spec json.RawMessage, now time.Time) (bool, error) {
		from := j.Status
		to, msg, err := pick(j, spec)
		if err != nil {
			return false, err
		}
		if to == "" {
			return false, nil
		}
		if !CanTransition(from, to) {
			return false, &TransitionError{ID: id, From: from, To: to}
		}
		if j.Status != from {
			return false, errImmutable
		}
		j.Status = to
		j.Events = append(j.Events, Event{Time: now, State: to, Message: msg})
		return true, nil
	}
}

// Update edits the job with mutate, with the same compare-and-set as Transition but
// no status change and no event unless mutate adds one. When mutate changes nothing,
// nothing is written (UpdatedAt stays), so applying a duplicate is free.
func (s *Store) Update(ctx context.Context, id string, mutate func(*Job) error) (*Job, error) {
	j, _, err := s.write(ctx, id, writeReq{change: func(j *Job, _ json.RawMessage, _ time.Time) (bool, error) {
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
	}})
	return j, err
}

// JobForFile returns the id of the job that uploaded fileID, or ErrNotFound.
//
// The lookup is written before the job's record says the file is its own (see
// write), so a webhook that finds the job may meet it still active: the job takes
// the item statuses it is given whatever its status. Callers that find nothing and
// keep the event for later look again after keeping it (completion.ApplyForFile).
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

// jobKeys are the keys a job's scripts take after the job's own: its idempotency key
// (or the job's key) and its run's keys in its shard (none without a run). An
// idempotency key outside the job's shard (a record edited by hand) is left out.
func jobKeys(id, idem, run string) (idemOrSelf string, runKeysOfShard []string) {
	shard := shardOf(id)
	idemOrSelf = jobKey(id)
	if idem != "" && shardOfString(idem) == shard {
		idemOrSelf = idemKey(idem)
	}
	if run != "" {
		runKeysOfShard = runKeys(shard, run)
	}
	return idemOrSelf, runKeysOfShard
}

// writeReq is what one write does.
type writeReq struct {
	// change edits the job and reports whether to write; spec is the job's spec when
	// withSpec, else nil.
	change   func(j *Job, spec json.RawMessage, now time.Time) (bool, error)
	withSpec bool
	// claimRead is the hash of the file's shard read with the claim of a new FileID
	// (see Record).
	claimRead string
}

// write is the compare-and-set loop behind Transition and Update: read, change, write
// if the version is unchanged, else again. The first round takes the job as this
// Store last wrote it, when it remembers it (held.go), instead of reading it. It
// returns the hash read with the claim of a new FileID (see Record).
//
// A job that takes a fileId claims the file's byfile key in the round trip of its
// record's write, in a step of its own: the key lives in the file's shard, not the
// job's. On one Redis the claim runs first, in the order of the pipeline; on a
// cluster the two may land in either order, and a webhook meeting neither the lookup
// nor the parked statuses read with it parks its status and looks again (see
// completion.ApplyForFile). A byfile key left by a write that lost the race, or by a
// crash, names a job that did upload the file, and expires on its own.
func (s *Store) write(ctx context.Context, id string, req writeReq) (*Job, map[string]string, error) {
	shard := shardOf(id)
	for round := range maxWriteAttempts {
		var (
			j    *Job
			v    string
			spec json.RawMessage
			ok   bool
		)
		if round == 0 && !req.withSpec {
			j, v, ok = s.takeHeld(id)
		}
		if !ok {
			var err error
			if j, v, spec, err = s.read(ctx, id, req.withSpec); err != nil {
				return nil, nil, err
			}
		}
		from, fileBefore, idem, run := j.Status, j.FileID, j.IdempotencyKey, j.Run
		now := s.clock()
		changed, err := req.change(j, spec, now)
		if err != nil {
			return nil, nil, err
		}
		if j.ID != id || j.IdempotencyKey != idem || j.Run != run {
			return nil, nil, errImmutable
		}
		if !changed {
			return j, nil, nil
		}
		j.UpdatedAt = now
		limit := s.maxEvents
		if j.Status.Final() {
			limit = s.finishedEvents
		}
		j.Events = capEvents(j.Events, limit)
		doc, err := encodeDoc(j)
		if err != nil {
			return nil, nil, err
		}

		self := jobKey(id)
		idemOrSelf, runKeys := jobKeys(id, idem, run)
		keys := append([]string{self, statusKey(shard, from), statusKey(shard, j.Status), idemOrSelf}, runKeys...)
		compact := "0"
		if j.Status == StatusCompleted && from != StatusCompleted {
			compact = "1"
		}
		follow := "0"
		if from.Final() || j.Status.Final() {
			follow = "1"
		}
		next := nextVersion(v)
		args := []any{id, v, doc, string(j.Status), s.ttlMillis(j.Status), compact,
			statusIndex(from), statusIndex(j.Status), s.runTTLMillis(), follow, next}
		wait := j.Status != from && outcome(j.Status)
		var claimed map[string]string
		var n int
		if j.FileID != "" && j.FileID != fileBefore {
			claimed, n, err = s.claimAndWrite(ctx, id, j.FileID, req.claimRead, keys, args)
			if err == nil && n == 1 && wait {
				err = s.confirm(ctx, id)
			}
		} else {
			n, err = s.writeOutcome(ctx, wait, keys, func(c scripter) (int, error) {
				return writeScript.Run(ctx, c, keys, args...).Int()
			}, id)
		}
		if err != nil {
			return nil, nil, fmt.Errorf("jobstore: write job %s: %w", id, notReplicated(err))
		}
		switch n {
		case 1:
			if next != "" {
				s.keepHeld(id, next, j)
			}
			if fileBefore != "" && fileBefore != j.FileID {
				// Best effort: a lookup left behind names a job that did upload the file.
				_ = deleteIfScript.Run(ctx, s.rdb, []string{byFileKey(fileBefore)}, id).Err()
			}
			return j, claimed, nil
		case -1:
			return nil, nil, ErrNotFound
		}
		// 0: another writer won; read its version and apply the change again.
	}
	return nil, nil, fmt.Errorf("%w: job %s changed %d times while being written", ErrConflict, id, maxWriteAttempts)
}

// claimAndWrite points the lookup of fileID at job id and reads claimRead (none when
// ""), then writes the job's record (writeScript with keys and args), in one
// pipeline: one round trip. The lookup and the hash are of one shard, so of one
// node, and the read runs after the lookup is set: a status parked before it is in
// the reply, one parked after it finds the job when its webhook looks again.
func (s *Store) claimAndWrite(ctx context.Context, id, fileID, claimRead string, keys []string, args []any) (map[string]string, int, error) {
	pipe := s.rdb.Pipeline()
	set := pipe.Set(ctx, byFileKey(fileID), id, s.byFileTTL())
	var read *redis.MapStringStringCmd
	if claimRead != "" {
		read = pipe.HGetAll(ctx, claimRead)
	}
	write := writeScript.EvalSha(ctx, pipe, keys, args...)
	_, _ = pipe.Exec(ctx) // each command's error is looked at below
	if redis.HasErrorPrefix(write.Err(), "NOSCRIPT") {
		// A Redis that has not seen the script yet (new, restarted, failed over).
		write = writeScript.Run(ctx, s.rdb, keys, args...)
	}
	if set.Err() != nil {
		// Once more on its own: the record may be written already, and a file without
		// its lookup would not find its job when ImageKit reports on it.
		if err := s.rdb.Set(ctx, byFileKey(fileID), id, s.byFileTTL()).Err(); err != nil {
			return nil, 0, fmt.Errorf("record file %s: %w", fileID, err)
		}
	}
	claimed := map[string]string{}
	if read != nil {
		var err error
		if claimed, err = read.Result(); err != nil {
			return nil, 0, fmt.Errorf("record file %s: %w", fileID, err)
		}
	}
	n, err := write.Int()
	return claimed, n, err
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
	s.forgetHeld(id)
	shard := shardOf(id)
	for range maxWriteAttempts {
		r, err := s.readRaw(ctx, id, false)
		if errors.Is(err, ErrNotFound) {
			_, _ = s.prune(ctx, id) // tidy the indexes if it expired
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		self := jobKey(id)
		keys := append([]string{self, self}, statusKeys(shard)...)
		version, fileID := r.v, ""
		if j, err := decode(id, []byte(r.doc), r.status); err == nil && r.v != "" {
			idemOrSelf, runKeys := jobKeys(id, j.IdempotencyKey, j.Run)
			keys[1] = idemOrSelf
			keys = append(keys, runKeys...)
			fileID = j.FileID
		} else {
			version = "" // corrupt: delete whatever is there
		}
		n, err := deleteScript.Run(ctx, s.rdb, keys, id, version, s.runTTLMillis()).Int()
		if err != nil {
			return fmt.Errorf("jobstore: delete job %s: %w", id, err)
		}
		switch n {
		case 1:
			if fileID != "" {
				if err := deleteIfScript.Run(ctx, s.rdb, []string{byFileKey(fileID)}, id).Err(); err != nil {
					return fmt.Errorf("jobstore: delete file %s of job %s: %w", fileID, id, err)
				}
			}
			return nil
		case -1:
			return ErrNotFound
		}
	}
	return fmt.Errorf("%w: job %s changed %d times while being deleted", ErrConflict, id, maxWriteAttempts)
}

// prune removes the index entries of id from its shard's status indexes, and from
// also (keys of the same shard), if its job no longer exists, and reports whether it
// did.
func (s *Store) prune(ctx context.Context, id string, also ...string) (bool, error) {
	keys := append(append([]string{jobKey(id)}, statusKeys(shardOf(id))...), also...)
	n, err := pruneScript.Run(ctx, s.rdb, keys, id).Int()
	if err != nil {
		return false, fmt.Errorf("jobstore: prune job %s: %w", id, err)
	}
	return n == 1, nil
}
