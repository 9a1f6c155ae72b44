package jobstore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

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
//
// Each shard keeps its own indexes; a page asks every shard, in one pipelined round,
// for the ids that follow the cursor, and keeps the first ones of their merge. The
// cursor is an id, so pages hold still while jobs are added: a new job sorts before
// any page already read.
func (s *Store) List(ctx context.Context, o ListOptions) (jobs []*Job, nextCursor string, err error) {
	if o.Status != "" && !o.Status.Valid() {
		return nil, "", fmt.Errorf("jobstore: list: unknown status %q", o.Status)
	}
	sets := func(shard int) []string {
		if o.Status == "" {
			return statusKeys(shard)
		}
		return []string{statusKey(shard, o.Status)}
	}
	return s.page(ctx, sets, o.Status, clampLimit(o.Limit), o.Cursor, false, nil)
}

// page reads up to limit jobs from after cursor: newest first, or oldest first when
// ascending. sets gives each shard's index, the union of one or more sets. Jobs whose
// status is no longer status (when set) are left out; entries of expired jobs are
// removed from their shard's indexes, and from pruneAlso(id).
func (s *Store) page(ctx context.Context, sets func(shard int) []string, status Status, limit int, cursor string,
	ascending bool, pruneAlso func(id string) []string) (jobs []*Job, nextCursor string, err error) {
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
		ids, err := s.rangeShards(ctx, sets, bound, need+1, ascending)
		if err != nil {
			return nil, "", err
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
		if len(ids) <= need { // every index ends within this page
			return jobs, "", nil
		}
		bound = "(" + page[len(page)-1]
		if len(jobs) == limit {
			return jobs, page[len(page)-1], nil
		}
	}
}

// rangeShards reads up to n ids beyond bound from the sets of every shard, in one
// pipelined round, and merges them: ascending or descending, each id once.
func (s *Store) rangeShards(ctx context.Context, sets func(shard int) []string, bound string, n int, ascending bool) ([]string, error) {
	pipe := s.rdb.Pipeline()
	single := make([]*redis.StringSliceCmd, Shards)
	var calls []evalCall
	for shard := range Shards {
		keys := sets(shard)
		if len(keys) == 1 {
			by := &redis.ZRangeBy{Min: "-", Max: bound, Count: int64(n)}
			if ascending {
				by = &redis.ZRangeBy{Min: bound, Max: "+", Count: int64(n)}
				single[shard] = pipe.ZRangeByLex(ctx, keys[0], by)
			} else {
				single[shard] = pipe.ZRevRangeByLex(ctx, keys[0], by)
			}
			continue
		}
		dir := "0"
		if ascending {
			dir = "1"
		}
		calls = append(calls, evalCall{keys: keys, args: []any{bound, n, dir}})
	}
	multi, err := s.evalEach(ctx, pipe, rangeScript, calls)
	if err != nil {
		return nil, fmt.Errorf("jobstore: list: %w", err)
	}
	var ids []string
	for _, cmd := range single {
		if cmd != nil {
			ids = append(ids, cmd.Val()...)
		}
	}
	for _, cmd := range multi {
		lists, _ := cmd.Val().([]any)
		for _, l := range lists {
			members, _ := l.([]any)
			for _, m := range members {
				if id, ok := m.(string); ok {
					ids = append(ids, id)
				}
			}
		}
	}
	if ascending {
		slices.Sort(ids)
	} else {
		slices.SortFunc(ids, func(a, b string) int { return strings.Compare(b, a) })
	}
	return slices.Compact(ids), nil
}

// evalCall is one call of a script in a pipelined round.
type evalCall struct {
	keys []string
	args []any
}

// evalEach runs pipe with script called once per call (by digest), and calls again,
// one by one with the script's text, those a server did not have cached. The other
// commands of pipe are run with them; their errors other than redis.Nil, and the
// calls', are the error.
func (s *Store) evalEach(ctx context.Context, pipe redis.Pipeliner, script *redis.Script, calls []evalCall) ([]*redis.Cmd, error) {
	cmds := make([]*redis.Cmd, len(calls))
	for i, c := range calls {
		cmds[i] = script.EvalSha(ctx, pipe, c.keys, c.args...)
	}
	all, _ := pipe.Exec(ctx)
	for i, cmd := range cmds {
		if err := cmd.Err(); err != nil && (errors.Is(err, redis.ErrNoScript) || redis.HasErrorPrefix(err, "NOSCRIPT")) {
			cmds[i] = script.Run(ctx, s.rdb, calls[i].keys, calls[i].args...)
		}
	}
	for _, cmd := range all {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) && !errors.Is(err, redis.ErrNoScript) && !redis.HasErrorPrefix(err, "NOSCRIPT") {
			return nil, err
		}
	}
	for _, cmd := range cmds {
		if err := cmd.Err(); err != nil && !errors.Is(err, redis.Nil) {
			return nil, err
		}
	}
	return cmds, nil
}

// fetch reads the jobs of ids in one round trip, in order, dropping (and pruning from
// their shard's indexes, and from pruneAlso(id)) those that no longer exist.
func (s *Store) fetch(ctx context.Context, ids []string, pruneAlso func(id string) []string) ([]*Job, error) {
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
			var also []string
			if pruneAlso != nil {
				also = pruneAlso(ids[i])
			}
			if _, err := s.prune(ctx, ids[i], also...); err != nil {
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
	for shard := range Shards {
		for _, index := range statusKeys(shard) {
			n, err := s.pruneSet(ctx, index, nil)
			pruned += n
			if err != nil {
				return pruned, err
			}
		}
	}
	return pruned, s.pruneRuns(ctx)
}

// pruneSet removes from index, and from pruneAlso(id), the jobs that no longer exist.
func (s *Store) pruneSet(ctx context.Context, index string, pruneAlso func(id string) []string) (int, error) {
	pruned := 0
	var cursor uint64
	for {
		ids, next, err := s.rdb.ZScan(ctx, index, cursor, "", scanPage).Result()
		if err != nil {
			return pruned, fmt.Errorf("jobstore: prune: %w", err)
		}
		// ZSCAN returns member, score, member, score, ...
		members := make([]string, 0, len(ids)/2)
		for i := 0; i < len(ids); i += 2 {
			members = append(members, ids[i])
		}
		n, err := s.pruneMissing(ctx, members, pruneAlso)
		pruned += n
		if err != nil {
			return pruned, err
		}
		if cursor = next; cursor == 0 {
			return pruned, nil
		}
	}
}

func (s *Store) pruneMissing(ctx context.Context, ids []string, pruneAlso func(id string) []string) (int, error) {
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
		var also []string
		if pruneAlso != nil {
			also = pruneAlso(ids[i])
		}
		ok, err := s.prune(ctx, ids[i], also...)
		if err != nil {
			return n, err
		}
		if ok {
			n++
		}
	}
	return n, nil
}

// Counts returns how many jobs are in each status, summed over the shards' status
// indexes in one round trip. Jobs that expired since their last write are counted
// until a List or Prune removes them from the index.
func (s *Store) Counts(ctx context.Context) (map[Status]int64, error) {
	calls := make([]evalCall, Shards)
	for shard := range Shards {
		calls[shard] = evalCall{keys: statusKeys(shard)}
	}
	cmds, err := s.evalEach(ctx, s.rdb.Pipeline(), countScript, calls)
	if err != nil {
		return nil, fmt.Errorf("jobstore: count jobs: %w", err)
	}
	out := make(map[Status]int64, len(statuses))
	for _, st := range statuses {
		out[st] = 0
	}
	for _, cmd := range cmds {
		counts, err := cmd.Int64Slice()
		if err != nil {
			return nil, fmt.Errorf("jobstore: count jobs: %w", err)
		}
		if len(counts) != len(statuses) {
			return nil, fmt.Errorf("jobstore: count jobs: unexpected reply %v", counts)
		}
		for i, st := range statuses {
			out[st] += counts[i]
		}
	}
	return out, nil
}
