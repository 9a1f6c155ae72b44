package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Created is one job of CreateMany: what Create returns for it.
type Created struct {
	Job     *Job
	Existed bool
	Err     error
}

// CreateMany is Create for many jobs, in two pipelined round trips rather than one
// or two a job: the jobs' idempotency keys are read in one, the jobs created in the
// other. Each job is created or refused on its own, as by Create; results are in
// the order of jobs. A job whose idempotency key changed between the two, or whose
// script was not loaded on its node, goes through Create. With
// Options.WaitReplicas every job goes through Create, which waits for its own
// replicas.
func (s *Store) CreateMany(ctx context.Context, jobs []*Job, specs []json.RawMessage) []Created {
	out := make([]Created, len(jobs))
	if s.waitReplicas > 0 {
		for i, j := range jobs {
			out[i].Job, out[i].Existed, out[i].Err = s.Create(ctx, j, specs[i])
		}
		return out
	}
	now := s.clock()
	nowMs := now.UnixMilli()
	type pending struct {
		i    int
		job  *Job
		keys []string
		doc  []byte
		seen string
	}
	todo := make([]*pending, 0, len(jobs))
	runs := map[string]bool{} // listed before their jobs are made
	for i, j := range jobs {
		job, keys, doc, err := prepareCreate(j, now)
		if err == nil && job.Run != "" && !runs[job.Run] {
			if err = s.listRun(ctx, job.Run, nowMs, false); err == nil {
				runs[job.Run] = true
			}
		}
		if err != nil {
			out[i].Err = err
			continue
		}
		todo = append(todo, &pending{i: i, job: job, keys: keys, doc: doc})
	}

	// The idempotency keys, in one round trip.
	var keyed []*pending
	for _, p := range todo {
		if p.job.IdempotencyKey != "" {
			keyed = append(keyed, p)
		}
	}
	if len(keyed) > 0 {
		pipe := s.rdb.Pipeline()
		gets := make([]*redis.StringCmd, len(keyed))
		for k, p := range keyed {
			gets[k] = pipe.Get(ctx, p.keys[2])
		}
		_, _ = pipe.Exec(ctx) // each command keeps its own error
		for k, p := range keyed {
			seen, err := gets[k].Result()
			if err != nil && !errors.Is(err, redis.Nil) {
				out[p.i].Err = fmt.Errorf("jobstore: read idempotency key: %w", err)
				continue
			}
			p.seen = seen
			if err := keyNames(p.job, p.keys, seen); err != nil {
				out[p.i].Err = err
			}
		}
	}

	// The jobs, in one round trip.
	pipe := s.rdb.Pipeline()
	evals := make([]*redis.Cmd, len(todo))
	for k, p := range todo {
		if out[p.i].Err == nil {
			evals[k] = createScript.EvalSha(ctx, pipe, p.keys, createArgs(p.job, p.doc, p.seen, specs[p.i], nowMs)...)
		}
	}
	_, _ = pipe.Exec(ctx)
	relist := map[string]bool{}
	for k, p := range todo {
		if evals[k] == nil {
			continue
		}
		res, err := evals[k].StringSlice()
		if redis.HasErrorPrefix(err, "NOSCRIPT") {
			out[p.i].Job, out[p.i].Existed, out[p.i].Err = s.Create(ctx, jobs[p.i], specs[p.i]) // loads it
			continue
		}
		if err != nil {
			out[p.i].Err = notReplicated(fmt.Errorf("jobstore: create job %s: %w", p.job.ID, err))
			continue
		}
		job, existed, newRun, err := createReply(p.job, p.doc, p.seen, res)
		if errors.Is(err, errStale) {
			out[p.i].Job, out[p.i].Existed, out[p.i].Err = s.Create(ctx, jobs[p.i], specs[p.i]) // reads the key again
			continue
		}
		out[p.i] = Created{Job: job, Existed: existed, Err: err}
		if newRun {
			relist[p.job.Run] = true
		}
	}
	for run := range relist {
		// Best effort, as in Create.
		_ = s.listRun(ctx, run, nowMs, true)
	}
	return out
}
