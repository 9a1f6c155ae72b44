package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Create stores a new job: it sets ID (when empty), CreatedAt, UpdatedAt, Status
// queued and the first event, and returns the stored job; j itself is not modified.
// spec, the job spec as the worker needs it (sources' secrets included), is stored
// beside the record, never in it: Get leaves it out and Spec reads it.
//
// With an IdempotencyKey, Create is atomic: when the key names a job that still
// exists, it returns that job and existed=true, and stores nothing. The key lives as
// long as its job. The job goes to the key's shard, so a given ID must be of that
// shard; a given ID that is in use is an ErrConflict.
//
// With Options.WaitReplicas, Create returns once that many replicas have the job, or
// an error matching ErrNotReplicated: the job may then be lost in a failover, or may
// be there. A job without an idempotency key is deleted again (best effort), so
// that trying again does not make two; with a key, trying again finds it.
func (s *Store) Create(ctx context.Context, j *Job, spec json.RawMessage) (stored *Job, existed bool, err error) {
	now := s.clock()
	job, keys, doc, err := prepareCreate(j, now)
	if err != nil {
		return nil, false, err
	}
	if job.Run != "" {
		if err := s.listRun(ctx, job.Run, now.UnixMilli(), false); err != nil {
			return nil, false, err
		}
	}
	stored, existed, newRun, err := s.createOn(ctx, job, keys, doc, spec, now.UnixMilli())
	if err != nil {
		return nil, false, notReplicated(err)
	}
	if newRun {
		// Best effort: listRun above listed it, unless a sweep dropped the entry of
		// an earlier run of this id since.
		_ = s.listRun(ctx, job.Run, now.UnixMilli(), true)
	}
	return stored, existed, nil
}

// prepareCreate is the job Create stores for j (its id, status, times and first
// event set), the create script's keys for it, and its stored doc.
func prepareCreate(j *Job, now time.Time) (job *Job, keys []string, doc []byte, err error) {
	if j == nil {
		return nil, nil, nil, errors.New("jobstore: Create: nil job")
	}
	c := *j
	job = &c
	shard := -1
	if job.IdempotencyKey != "" {
		shard = shardOfString(job.IdempotencyKey)
	}
	switch {
	case job.ID == "":
		job.ID = newID(now, shard)
	case shard >= 0 && shardOf(job.ID) != shard:
		return nil, nil, nil, fmt.Errorf("jobstore: Create: job id %s and its idempotency key belong to different shards; leave the id empty", job.ID)
	}
	shard = shardOf(job.ID)
	job.Status = StatusQueued
	job.CreatedAt, job.UpdatedAt = now, now
	job.Events = []Event{{Time: now, State: StatusQueued, Message: createdMessage}}
	if doc, err = encodeDoc(job); err != nil {
		return nil, nil, nil, err
	}
	self := jobKey(job.ID)
	keys = []string{self, statusKey(shard, StatusQueued), self, self}
	if job.IdempotencyKey != "" {
		keys[2] = idemKey(job.IdempotencyKey)
	}
	if job.Run != "" {
		keys = append(keys, runKeys(shard, job.Run)...)
	}
	return job, keys, doc, nil
}

// createOn runs the create script, and waits for replicas when the Store does. When
// it writes through a connection to the job's master and the cluster moved the slot
// meanwhile, it asks for the new layout and tries again, up to movedTries times.
func (s *Store) createOn(ctx context.Context, job *Job, keys []string, doc []byte, spec json.RawMessage, nowMs int64) (stored *Job, existed, newRun bool, err error) {
	for try := 1; ; try++ {
		c, release, err := s.writer(ctx, keys[0])
		if err != nil {
			return nil, false, false, err
		}
		stored, existed, newRun, err = s.create(ctx, c, job, keys, doc, spec, nowMs)
		if err == nil {
			err = s.waitReplicated(ctx, c, stored.ID)
			if err != nil && !existed && job.IdempotencyKey == "" {
				_ = s.Delete(context.WithoutCancel(ctx), stored.ID)
			}
		}
		release()
		cluster, isCluster := s.rdb.(*redis.ClusterClient)
		_, moved := redis.IsMovedError(err)
		if !moved || !isCluster || try == movedTries {
			return stored, existed, newRun, err
		}
		// The reload runs in the background: give it a moment before the next try.
		cluster.ReloadState(ctx)
		select {
		case <-ctx.Done():
			return nil, false, false, err
		case <-time.After(time.Duration(try) * movedWait):
		}
	}
}

// movedTries bounds how often createOn writes while the cluster moves the job's
// slot; movedWait, times the try, is its wait for the new layout between them.
const (
	movedTries = 4
	movedWait  = 50 * time.Millisecond
)

// scripter is what Create runs its commands on: the Store's client, or one
// connection of the node that holds the job when it waits for replicas.
type scripter interface {
	redis.Scripter
	Get(ctx context.Context, key string) *redis.StringCmd
}

// create runs the create script until the idempotency key holds still.
func (s *Store) create(ctx context.Context, c scripter, job *Job, keys []string, doc []byte, spec json.RawMessage, nowMs int64) (stored *Job, existed, newRun bool, err error) {
	for range maxWriteAttempts {
		var seen string // the job id the idempotency key named when read
		if job.IdempotencyKey != "" {
			seen, err = c.Get(ctx, keys[2]).Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				return nil, false, false, fmt.Errorf("jobstore: read idempotency key: %w", err)
			}
			if err := keyNames(job, keys, seen); err != nil {
				return nil, false, false, err
			}
		}
		res, err := createScript.Run(ctx, c, keys, createArgs(job, doc, seen, spec, nowMs)...).StringSlice()
		if err != nil {
			return nil, false, false, fmt.Errorf("jobstore: create job %s: %w", job.ID, err)
		}
		stored, existed, newRun, err = createReply(job, doc, seen, res)
		if !errors.Is(err, errStale) {
			return stored, existed, newRun, err
		}
	}
	return nil, false, false, fmt.Errorf("%w: idempotency key of job %s kept changing", ErrConflict, job.ID)
}

// keyNames sets the create script's KEYS[4] to the job that job's idempotency key
// named when read (seen), or to the job itself when it named none.
func keyNames(job *Job, keys []string, seen string) error {
	keys[3] = keys[0]
	if seen != "" {
		if shardOf(seen) != shardOf(job.ID) {
			return fmt.Errorf("%w: idempotency key of job %s names job %s of another shard", ErrCorrupt, job.ID, seen)
		}
		keys[3] = jobKey(seen)
	}
	return nil
}

// createArgs are the create script's ARGV for job; seen is the id its idempotency
// key named when read.
func createArgs(job *Job, doc []byte, seen string, spec json.RawMessage, nowMs int64) []any {
	return []any{job.ID, doc, string(StatusQueued), seen, string(spec), job.Run, strconv.FormatInt(nowMs, 10)}
}

// errStale: the idempotency key changed between its read and the create script.
var errStale = errors.New("idempotency key changed")

// createReply reads the create script's reply for job: the stored job, whether the
// idempotency key named an existing one, and whether the job's run is new in its
// shard; errStale when the key must be read again.
func createReply(job *Job, doc []byte, seen string, res []string) (stored *Job, existed, newRun bool, err error) {
	if len(res) == 0 {
		return nil, false, false, fmt.Errorf("jobstore: create: unexpected script reply %q", res)
	}
	switch res[0] {
	case "created":
		stored, err := decode(job.ID, doc, string(StatusQueued))
		return stored, false, len(res) == 2 && res[1] == "1", err
	case "existed":
		if len(res) != 3 {
			return nil, false, false, fmt.Errorf("jobstore: create: unexpected script reply %q", res)
		}
		stored, err := decode(seen, []byte(res[1]), res[2])
		return stored, true, false, err
	case "taken":
		return nil, false, false, fmt.Errorf("%w: job %s already exists", ErrConflict, job.ID)
	case "stale":
		return nil, false, false, errStale
	}
	return nil, false, false, fmt.Errorf("jobstore: create: unexpected script reply %q", res)
}
