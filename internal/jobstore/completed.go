package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
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

// CreateCompleted stores jobs that are completed from the start, in one round trip
// and atomically: every job, its index entries, its run's counts, its idempotency
// and byfile keys, or nothing. A job whose IdempotencyKey names an existing job is not
// stored: that job is returned, with existed true. The jobs of one call belong to one
// run (or none); their idempotency keys must differ.
func (s *Store) CreateCompleted(ctx context.Context, items []Completed) (jobs []*Job, existed []bool, err error) {
	if len(items) == 0 {
		return nil, nil, nil
	}
	run := ""
	if items[0].Job != nil {
		run = items[0].Job.Run
	}
	now := s.clock()
	fixed := []string{allKey, statusKey(StatusCompleted)}
	if run != "" {
		fixed = append(append(fixed, runsKey), runKeys(run)...)
	}
	ids := make([]string, len(items))
	docs := make([][]byte, len(items))
	idems := make([]string, 0, len(items))
	seenKey := map[string]bool{}
	for i, it := range items {
		if it.Job == nil {
			return nil, nil, fmt.Errorf("jobstore: CreateCompleted: job %d is nil", i)
		}
		if it.Job.Run != run {
			return nil, nil, fmt.Errorf("jobstore: CreateCompleted: jobs of runs %q and %q in one call", run, it.Job.Run)
		}
		job := *it.Job
		if job.ID == "" {
			job.ID = NewID(now)
		}
		if k := job.IdempotencyKey; k != "" {
			if seenKey[k] {
				return nil, nil, fmt.Errorf("jobstore: CreateCompleted: idempotency key %q twice in one call", k)
			}
			seenKey[k] = true
			idems = append(idems, idemKey(k))
		}
		job.Status = StatusCompleted
		job.CreatedAt, job.UpdatedAt = now, now
		job.Result, job.FileID, job.Error, job.NextAttemptAt = it.Result, it.FileID, nil, nil
		job.Events = []Event{
			{Time: now, State: StatusQueued, Message: createdMessage},
			{Time: now, State: StatusCompleted, Message: it.Message},
		}
		doc, err := json.Marshal(&job)
		if err != nil {
			return nil, nil, fmt.Errorf("jobstore: encode job %s: %w", job.ID, err)
		}
		ids[i], docs[i] = job.ID, doc
	}

	for range maxWriteAttempts {
		// What each idempotency key names now; the script writes only if none moved.
		seen := map[string]string{}
		if len(idems) > 0 {
			vals, err := s.rdb.MGet(ctx, idems...).Result()
			if err != nil {
				return nil, nil, fmt.Errorf("jobstore: read idempotency keys: %w", err)
			}
			for i, v := range vals {
				if str, ok := v.(string); ok {
					seen[idems[i]] = str
				}
			}
		}
		keys := append([]string(nil), fixed...)
		args := []any{len(fixed), s.ttlMillis(StatusCompleted), run, now.UnixMilli(), runMember(now.UnixMilli(), run),
			s.runTTLMillis(), statusIndex(StatusCompleted)}
		for i, it := range items {
			self := jobKey(ids[i])
			k := []string{self, self, self, self}
			was := ""
			if it.Job.IdempotencyKey != "" {
				k[1] = idemKey(it.Job.IdempotencyKey)
				if was = seen[k[1]]; was != "" {
					k[2] = jobKey(was)
				}
			}
			if it.FileID != "" {
				k[3] = byFileKey(it.FileID)
			}
			keys = append(keys, k...)
			args = append(args, ids[i], docs[i], was, string(it.Spec))
		}
		res, err := createCompletedScript.Run(ctx, s.rdb, keys, args...).StringSlice()
		if err != nil {
			return nil, nil, fmt.Errorf("jobstore: create %d completed jobs: %w", len(items), err)
		}
		switch {
		case len(res) == 1 && res[0] == "stale":
			continue
		case len(res) == 2 && res[0] == "taken":
			return nil, nil, fmt.Errorf("%w: job %s already exists", ErrConflict, res[1])
		case len(res) != 1+3*len(items) || res[0] != "done":
			return nil, nil, fmt.Errorf("jobstore: create completed: unexpected script reply of %d values", len(res))
		}
		jobs, existed = make([]*Job, len(items)), make([]bool, len(items))
		for i := range items {
			kind, doc, status := res[1+3*i], res[2+3*i], res[3+3*i]
			id := ids[i]
			if kind == "existed" {
				existed[i] = true
				id = seen[idemKey(items[i].Job.IdempotencyKey)]
			} else {
				doc, status = string(docs[i]), string(StatusCompleted)
			}
			if jobs[i], err = decode(id, []byte(doc), status); err != nil {
				return nil, nil, err
			}
		}
		return jobs, existed, nil
	}
	return nil, nil, fmt.Errorf("%w: idempotency keys of %d completed jobs kept changing", ErrConflict, len(items))
}
