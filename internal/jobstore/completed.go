package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/redis/go-redis/v9"
)

// Completed is a job that ends before any task runs: its destination already holds
// the file (ikq bulk's re-run of an unchanged tree), so it is recorded completed with
// that file as its result.
type Completed struct {
	// Job carries what Create takes: Queue, MaxAttempts, IdempotencyKey, Run, Request,
	// Callback. ID is set when empty.
	Job  *Job
	Spec json.RawMessage // the job spec, as for Create
	// Result is the file in place, as an upload's answer; FileID its id.
	Result json.RawMessage
	FileID string
	// Message is the completed event's message.
	Message string
}

// CreateCompleted stores jobs that are completed from the start, each with its index
// entries, its run's counts and its idempotency and byfile keys. A job whose
// IdempotencyKey names an existing job is not stored: that job is returned, with
// existed true. The jobs of one call belong to one run (or none); their idempotency
// keys must differ.
//
// The jobs of one shard are written in one round trip, all of them or none; those of
// different shards by one script each, so an error (Redis, or a given ID taken since
// it was checked) may leave some shards' jobs written: calling again with the same
// idempotency keys returns them as existing. Given IDs already in use are refused
// before anything is written.
func (s *Store) CreateCompleted(ctx context.Context, items []Completed) (jobs []*Job, existed []bool, err error) {
	if len(items) == 0 {
		return nil, nil, nil
	}
	run := ""
	if items[0].Job != nil {
		run = items[0].Job.Run
	}
	now := s.clock()
	ids := make([]string, len(items))
	docs := make([][]byte, len(items))
	seenKey := map[string]bool{}
	var given []string
	for i, it := range items {
		if it.Job == nil {
			return nil, nil, fmt.Errorf("jobstore: CreateCompleted: job %d is nil", i)
		}
		if it.Job.Run != run {
			return nil, nil, fmt.Errorf("jobstore: CreateCompleted: jobs of runs %q and %q in one call", run, it.Job.Run)
		}
		job := *it.Job
		shard := -1
		if k := job.IdempotencyKey; k != "" {
			if seenKey[k] {
				return nil, nil, fmt.Errorf("jobstore: CreateCompleted: idempotency key %q twice in one call", k)
			}
			seenKey[k] = true
			shard = shardOfString(k)
		}
		switch {
		case job.ID == "":
			job.ID = newID(now, shard)
		case shard >= 0 && shardOf(job.ID) != shard:
			return nil, nil, fmt.Errorf("jobstore: CreateCompleted: job id %s and its idempotency key belong to different shards; leave the id empty", job.ID)
		default:
			given = append(given, job.ID)
		}
		job.Status = StatusCompleted
		job.CreatedAt, job.UpdatedAt = now, now
		job.Result, job.FileID, job.Error, job.NextAttemptAt = it.Result, it.FileID, nil, nil
		job.Events = []Event{
			{Time: now, State: StatusQueued, Message: createdMessage},
			{Time: now, State: StatusCompleted, Message: it.Message},
		}
		ids[i] = job.ID
		if docs[i], err = encodeDoc(&job); err != nil {
			return nil, nil, err
		}
	}
	if err := s.refuseTaken(ctx, given); err != nil {
		return nil, nil, err
	}
	if run != "" {
		if err := s.listRun(ctx, run, now.UnixMilli(), false); err != nil {
			return nil, nil, err
		}
	}

	byShard := map[int][]int{}
	for i := range items {
		byShard[shardOf(ids[i])] = append(byShard[shardOf(ids[i])], i)
	}
	jobs, existed = make([]*Job, len(items)), make([]bool, len(items))
	newRun := false
	for _, shard := range slices.Sorted(maps.Keys(byShard)) {
		isNew, err := s.createCompleted(ctx, shard, run, now, items, byShard[shard], ids, docs, jobs, existed)
		if err != nil {
			return nil, nil, err
		}
		newRun = newRun || isNew
	}
	if newRun {
		_ = s.listRun(ctx, run, now.UnixMilli(), true) // best effort, as in Create
	}
	// The files' lookups, in their own shards, for the jobs made here.
	pipe := s.rdb.Pipeline()
	for i, it := range items {
		if it.FileID != "" && !existed[i] {
			pipe.Set(ctx, byFileKey(it.FileID), ids[i], s.byFileTTL())
		}
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, nil, fmt.Errorf("jobstore: record the files of %d completed jobs: %w", len(items), err)
	}
	return jobs, existed, nil
}

// refuseTaken is an ErrConflict when a job of one of ids exists.
func (s *Store) refuseTaken(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, jobKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return fmt.Errorf("jobstore: check job ids: %w", err)
	}
	for i, c := range cmds {
		if c.Val() > 0 {
			return fmt.Errorf("%w: job %s already exists", ErrConflict, ids[i])
		}
	}
	return nil
}

// createCompleted writes the jobs idx of items, all of one shard, and fills their
// places in jobs and existed. It reports whether the run is new in the shard.
func (s *Store) createCompleted(ctx context.Context, shard int, run string, now time.Time, items []Completed, idx []int,
	ids []string, docs [][]byte, jobs []*Job, existed []bool) (newRun bool, err error) {
	fixed := []string{statusKey(shard, StatusCompleted)}
	if run != "" {
		fixed = append(fixed, runKeys(shard, run)...)
	}
	var idems []string
	for _, i := range idx {
		if k := items[i].Job.IdempotencyKey; k != "" {
			idems = append(idems, idemKey(k))
		}
	}
	for range maxWriteAttempts {
		// What each idempotency key names now; the script writes only if none moved.
		seen := map[string]string{}
		if len(idems) > 0 {
			vals, err := s.rdb.MGet(ctx, idems...).Result()
			if err != nil {
				return false, fmt.Errorf("jobstore: read idempotency keys: %w", err)
			}
			for i, v := range vals {
				if str, ok := v.(string); ok {
					seen[idems[i]] = str
				}
			}
		}
		keys := append([]string(nil), fixed...)
		args := []any{len(fixed), s.ttlMillis(StatusCompleted), run, now.UnixMilli(), s.runTTLMillis(), statusIndex(StatusCompleted)}
		for _, i := range idx {
			self := jobKey(ids[i])
			k := []string{self, self, self}
			was := ""
			if key := items[i].Job.IdempotencyKey; key != "" {
				k[1] = idemKey(key)
				if was = seen[k[1]]; was != "" {
					if shardOf(was) != shard {
						return false, fmt.Errorf("%w: idempotency key of job %s names job %s of another shard", ErrCorrupt, ids[i], was)
					}
					k[2] = jobKey(was)
				}
			}
			keys = append(keys, k...)
			args = append(args, ids[i], docs[i], was, string(items[i].Spec))
		}
		res, err := createCompletedScript.Run(ctx, s.rdb, keys, args...).StringSlice()
		if err != nil {
			return false, fmt.Errorf("jobstore: create %d completed jobs: %w", len(idx), notReplicated(err))
		}
		switch {
		case len(res) == 1 && res[0] == "stale":
			continue
		case len(res) == 2 && res[0] == "taken":
			return false, fmt.Errorf("%w: job %s already exists", ErrConflict, res[1])
		case len(res) != 2+3*len(idx) || res[0] != "done":
			return false, fmt.Errorf("jobstore: create completed: unexpected script reply of %d values", len(res))
		}
		for n, i := range idx {
			kind, doc, status := res[2+3*n], res[3+3*n], res[4+3*n]
			id := ids[i]
			if kind == "existed" {
				existed[i] = true
				id = seen[idemKey(items[i].Job.IdempotencyKey)]
			} else {
				doc, status = string(docs[i]), string(StatusCompleted)
			}
			if jobs[i], err = decode(id, []byte(doc), status); err != nil {
				return false, err
			}
		}
		return res[1] == "1", nil
	}
	return false, fmt.Errorf("%w: idempotency keys of %d completed jobs kept changing", ErrConflict, len(idx))
}
