package jobstore

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/tasks"
)

const (
	DefaultListLimit = tasks.DefaultListLimit
	MaxListLimit     = tasks.MaxListLimit
)

// ListOptions select a page of jobs.
type ListOptions = tasks.ListOptions

// List returns jobs newest first (ids are ULIDs: their order is creation order) and
// the cursor of the next page, "" after the last. Index entries of jobs that expired
// are skipped and removed. A job that changes status while being listed may be
// missing from a page filtered by status, never repeated in a listing of all jobs.
func (s *Store) List(ctx context.Context, o ListOptions) (jobs []*Job, nextCursor string, err error) {
	index := allKey
	if o.Status != "" {
		if !o.Status.Valid() {
			return nil, "", fmt.Errorf("jobstore: list: unknown status %q", o.Status)
		}
		index = statusKey(o.Status)
	}
	return s.page(ctx, index, o.Status, clampLimit(o.Limit), o.Cursor, false, nil)
}

// page reads up to limit jobs of index from after cursor: newest first, or oldest
// first when ascending. Jobs whose status is no longer status (when set) are left
// out; entries of expired jobs are removed from the index, and from pruneAlso.
func (s *Store) page(ctx context.Context, index string, status Status, limit int, cursor string, ascending bool, pruneAlso []string) (jobs []*Job, nextCursor string, err error) {
	bound := "+" // the page starts beyond this bound: ids sort by time
	if ascending {
		bound = "-"
	}
	if cursor != "" {
		bound = "(" + cursor
	}
	jobs = make([]*Job, 0, limit)
	for {
		need := limit - len(jobs)
		// One id more than needed tells whether another page follows.
		var ids []string
		if ascending {
			ids, err = s.rdb.ZRangeByLex(ctx, index, &redis.ZRangeBy{Min: bound, Max: "+", Count: int64(need + 1)}).Result()
		} else {
			ids, err = s.rdb.ZRevRangeByLex(ctx, index, &redis.ZRangeBy{Max: bound, Min: "-", Count: int64(need + 1)}).Result()
		}
		if err != nil {
			return nil, "", fmt.Errorf("jobstore: list: %w", err)
		}
		page := ids[:min(need, len(ids))]
		found, err := s.fetch(ctx, page, pruneAlso)
		if err != nil {
			return nil, "", err
		}
		for _, j := range found {
			if status == "" || j.Status == status { // it may have moved meanwhile
				jobs = append(jobs, j)
			}
		}
		if len(ids) <= need { // the index ends within this page
			return jobs, "", nil
		}
		bound = "(" + page[len(page)-1]
		if len(jobs) == limit {
			return jobs, page[len(page)-1], nil
		}
	}
}

// fetch reads the jobs of ids in one round trip, in order, dropping (and pruning,
// from pruneAlso too) those that no longer exist.
func (s *Store) fetch(ctx context.Context, ids []string, pruneAlso []string) ([]*Job, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HMGet(ctx, jobKey(id), "doc", "status")
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("jobstore: list: %w", err)
	}
	jobs := make([]*Job, 0, len(ids))
	for i, cmd := range cmds {
		vals := cmd.Val()
		doc, ok := vals[0].(string)
		if !ok {
			if _, err := s.prune(ctx, ids[i], pruneAlso...); err != nil {
				return nil, err
			}
			continue
		}
		status, _ := vals[1].(string)
		j, err := decode(ids[i], []byte(doc), status)
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

// Prune removes from the indexes every job that expired, and returns how many jobs
// it removed. List does this lazily for the entries it meets; Prune is for a periodic
// sweep, so that indexes nobody lists to the end do not grow without bound.
func (s *Store) Prune(ctx context.Context) (int, error) {
	pruned := 0
	for _, index := range indexKeys() {
		var cursor uint64
		for {
			ids, next, err := s.rdb.ZScan(ctx, index, cursor, "", 500).Result()
			if err != nil {
				return pruned, fmt.Errorf("jobstore: prune: %w", err)
			}
			// ZSCAN returns member, score, member, score, ...
			members := make([]string, 0, len(ids)/2)
			for i := 0; i < len(ids); i += 2 {
				members = append(members, ids[i])
			}
			n, err := s.pruneMissing(ctx, members, nil)
			pruned += n
			if err != nil {
				return pruned, err
			}
			if cursor = next; cursor == 0 {
				break
			}
		}
	}
	return pruned, s.pruneRuns(ctx)
}

func (s *Store) pruneMissing(ctx context.Context, ids []string, pruneAlso []string) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.Exists(ctx, jobKey(id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return 0, fmt.Errorf("jobstore: prune: %w", err)
	}
	n := 0
	for i, cmd := range cmds {
		if cmd.Val() != 0 {
			continue
		}
		ok, err := s.prune(ctx, ids[i], pruneAlso...)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Counts returns how many jobs are in each status, read from the status indexes in
// one round trip. Jobs that expired since their last write are counted until a List
// or Prune removes them from the index.
func (s *Store) Counts(ctx context.Context) (map[Status]int64, error) {
	pipe := s.rdb.Pipeline()
	cmds := make(map[Status]*redis.IntCmd, len(statuses))
	for _, st := range statuses {
		cmds[st] = pipe.ZCard(ctx, statusKey(st))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, fmt.Errorf("jobstore: count jobs: %w", err)
	}
	out := make(map[Status]int64, len(cmds))
	for st, c := range cmds {
		out[st] = c.Val()
	}
	return out, nil
}
