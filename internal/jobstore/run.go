package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/tasks"
)

// Runs: a job whose spec names a run is indexed under it, in its own shard, by the
// same scripts that create and move the job, so a run's counts are always those of
// its jobs: the sums of its sets' sizes over the shards.
//
//	ikq:{<shard>}:run:<id>             HASH id, created (ms: its first job in the
//	                                   shard), and what ikq bulk said of it: source,
//	                                   mode, folder, root
//	ikq:{<shard>}:run:<id>:status:<s>  ZSET of its job ids of the shard in status s
//	ikq:{runs}:runs                    ZSET, score 0, members "<created ms, 13
//	                                   digits>:<run id>": lexicographic = creation order
//	ikq:{runs}:run-entries             HASH run id → its member of ikq:{runs}:runs
//
// A run's keys in a shard live while any of its jobs there is unfinished; once none
// is, they expire after the retention, with the shard's last job. The run lives as
// long as its keys in any shard. Its entry in the list of runs is removed by ListRuns
// and Prune once the run is gone.
type (
	Run            = tasks.Run
	RunCounts      = tasks.RunCounts
	RunFailure     = tasks.RunFailure
	RunInfo        = tasks.RunInfo
	RunListOptions = tasks.RunListOptions
)

// ErrRunNotFound: no run has this id. It matches ErrNotFound too.
var ErrRunNotFound = tasks.ErrRunNotFound

const (
	runsKey       = "ikq:{runs}:runs"
	runEntriesKey = "ikq:{runs}:run-entries"

	// runListedFor is how long a Store trusts that a run it put in the list of runs
	// is still there, before it puts it there again.
	runListedFor = time.Minute
	// maxListed bounds the runs a Store remembers listing.
	maxListed = 10000
)

func runKey(shard int, id string) string { return shardPrefix(shard) + "run:" + id }

// runKeys are a run's keys in a shard: its hash, then its status sets in the order
// of statuses. The scripts rely on this order.
func runKeys(shard int, id string) []string {
	keys := []string{runKey(shard, id)}
	for _, st := range statuses {
		keys = append(keys, runStatusKey(shard, id, st))
	}
	return keys
}

func runStatusKey(shard int, id string, st Status) string {
	return runKey(shard, id) + ":status:" + string(st)
}

// runMember is a run's entry in the list of runs: fixed-width milliseconds first, so
// that entries sort by creation.
func runMember(ms int64, id string) string { return fmt.Sprintf("%013d:%s", ms, id) }

// parseRunMember splits an entry of the list of runs.
func parseRunMember(m string) (ms string, id string, ok bool) {
	ms, id, ok = strings.Cut(m, ":")
	if !ok || len(ms) != 13 || id == "" {
		return "", "", false
	}
	for i := range len(ms) {
		if ms[i] < '0' || ms[i] > '9' {
			return "", "", false
		}
	}
	return ms, id, true
}

// statusIndex is the position of st in statuses, from 1, as the scripts take it.
func statusIndex(st Status) int {
	for i, s := range statuses {
		if s == st {
			return i + 1
		}
	}
	return 0
}

// runTTLMillis is how long a run with no unfinished job is kept: "0" for ever.
func (s *Store) runTTLMillis() int64 {
	if s.retention <= 0 {
		return 0
	}
	return max(s.retention.Milliseconds(), 1)
}

// listRun puts the run in the list of runs, as created at ms unless it is there. A
// Store does it once per run every runListedFor, unless again.
func (s *Store) listRun(ctx context.Context, id string, ms int64, again bool) error {
	now := time.Now()
	s.listedMu.Lock()
	at, ok := s.listed[id]
	s.listedMu.Unlock()
	if ok && !again && now.Sub(at) < runListedFor {
		return nil
	}
	if err := listRunScript.Run(ctx, s.rdb, []string{runsKey, runEntriesKey}, id, runMember(ms, id)).Err(); err != nil {
		return fmt.Errorf("jobstore: list run %s: %w", id, err)
	}
	s.listedMu.Lock()
	if len(s.listed) >= maxListed {
		clear(s.listed)
	}
	s.listed[id] = now
	s.listedMu.Unlock()
	return nil
}

// RecordRun records what ikq bulk says of a run (source, mode, folder, root), creating
// the run when it is new. It is written to every shard, so that it lives as long as
// the run's jobs wherever they are. A run with no jobs expires after the retention.
func (s *Store) RecordRun(ctx context.Context, info RunInfo) error {
	if !tasks.ValidRunID(info.ID) {
		return fmt.Errorf("jobstore: record run: %q is not a run id", info.ID)
	}
	now := s.clock().UnixMilli()
	if err := s.listRun(ctx, info.ID, now, true); err != nil {
		return err
	}
	args := []any{info.ID, now, s.runTTLMillis()}
	for _, f := range [][2]string{{"source", info.Source}, {"mode", info.Mode}, {"folder", info.Folder}, {"root", info.Root}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	calls := make([]evalCall, Shards)
	for shard := range Shards {
		calls[shard] = evalCall{keys: runKeys(shard, info.ID), args: args}
	}
	if _, err := s.evalEach(ctx, s.rdb.Pipeline(), recordRunScript, calls); err != nil {
		return fmt.Errorf("jobstore: record run %s: %w", info.ID, err)
	}
	return nil
}

// runReads are the pipelined reads of one run: its entry in the list of runs and its
// keys in every shard.
type runReads struct {
	entry  *redis.StringCmd
	shards []*redis.Cmd
}

// readRuns reads the runs in one pipelined round.
func (s *Store) readRuns(ctx context.Context, ids []string) ([]*runReads, error) {
	pipe := s.rdb.Pipeline()
	reads := make([]*runReads, len(ids))
	var calls []evalCall
	for i, id := range ids {
		reads[i] = &runReads{entry: pipe.HGet(ctx, runEntriesKey, id)}
		for shard := range Shards {
			calls = append(calls, evalCall{keys: runKeys(shard, id)})
		}
	}
	cmds, err := s.evalEach(ctx, pipe, readRunScript, calls)
	if err != nil {
		return nil, fmt.Errorf("jobstore: read runs: %w", err)
	}
	for i := range ids {
		reads[i].shards = cmds[i*Shards : (i+1)*Shards]
	}
	return reads, nil
}

// run merges the run's keys of every shard, or is nil when it has none.
func (r *runReads) run(id string) *Run {
	run := &Run{ID: id}
	var created int64
	for _, cmd := range r.shards {
		reply, _ := cmd.Val().([]any)
		if len(reply) != 2 {
			continue
		}
		fields, _ := reply[0].([]any)
		h := map[string]string{}
		for i := 0; i+1 < len(fields); i += 2 {
			k, _ := fields[i].(string)
			v, _ := fields[i+1].(string)
			h[k] = v
		}
		if ms, err := strconv.ParseInt(h["created"], 10, 64); err == nil && (created == 0 || ms < created) {
			created = ms
		}
		for _, f := range []struct {
			dst *string
			key string
		}{{&run.Source, "source"}, {&run.Mode, "mode"}, {&run.Folder, "folder"}, {&run.Root, "root"}} {
			if *f.dst == "" {
				*f.dst = h[f.key]
			}
		}
		counts, _ := reply[1].([]any)
		for i, st := range statuses {
			if i < len(counts) {
				n, _ := counts[i].(int64)
				run.Counts.Set(st, run.Counts.Of(st)+n)
			}
		}
	}
	if created == 0 {
		return nil
	}
	// The run's creation is when it was first listed; its shards know when their own
	// first job came.
	if ms, _, ok := parseRunMember(r.entry.Val()); ok {
		if n, err := strconv.ParseInt(ms, 10, 64); err == nil {
			created = n
		}
	}
	run.CreatedAt = time.UnixMilli(created).UTC()
	for _, st := range statuses {
		run.Total += run.Counts.Of(st)
	}
	run.Done = run.Counts.Unfinished() == 0
	return run
}

// GetRun returns a run with its counts by status, or an error matching
// ErrRunNotFound. With failures, it also groups the failed and canceled jobs by
// reason, reading them all.
func (s *Store) GetRun(ctx context.Context, id string, failures bool) (*Run, error) {
	if !tasks.ValidRunID(id) {
		return nil, fmt.Errorf("%w: %q", ErrRunNotFound, id)
	}
	reads, err := s.readRuns(ctx, []string{id})
	if err != nil {
		return nil, err
	}
	run := reads[0].run(id)
	if run == nil {
		return nil, fmt.Errorf("%w: %s", ErrRunNotFound, id)
	}
	if failures && run.Counts.Failed+run.Counts.Canceled > 0 {
		f, err := s.runFailures(ctx, id)
		if err != nil {
			return nil, err
		}
		run.Failures = f
	}
	return run, nil
}

// runExists reports whether the run has keys in any shard.
func (s *Store) runExists(ctx context.Context, id string) (bool, error) {
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.IntCmd, Shards)
	for shard := range Shards {
		cmds[shard] = pipe.Exists(ctx, runKey(shard, id))
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return false, fmt.Errorf("jobstore: read run %s: %w", id, err)
	}
	for _, c := range cmds {
		if c.Val() > 0 {
			return true, nil
		}
	}
	return false, nil
}

const (
	// maxFailureGroups bounds the reasons a run's failures are grouped by; past it,
	// the rest count as "other reasons".
	maxFailureGroups = 100
	// failureExamples is how many jobs each group names.
	failureExamples = 5
	// scanPage is how many jobs one round trip reads when a whole set is read.
	scanPage = 500
)

// runFailures groups the run's failed and canceled jobs by reason.
func (s *Store) runFailures(ctx context.Context, id string) ([]RunFailure, error) {
	var groups []*RunFailure
	index := map[string]*RunFailure{}
	add := func(st Status, reason string, j *Job) {
		key := string(st) + "\x00" + reason
		g := index[key]
		if g == nil {
			if len(groups) >= maxFailureGroups {
				reason, key = "other reasons", string(st)+"\x00\x00other"
				g = index[key]
			}
			if g == nil {
				g = &RunFailure{Reason: reason, Status: st, Examples: []tasks.RunExample{}}
				index[key] = g
				groups = append(groups, g)
			}
		}
		g.Count++
		if len(g.Examples) < failureExamples {
			g.Examples = append(g.Examples, tasks.RunExample{JobID: j.ID, Source: requestFile(j)})
		}
	}
	for _, st := range []Status{StatusFailed, StatusCanceled} {
		err := s.EachRunJob(ctx, id, st, func(j *Job) error {
			reason := string(st)
			if j.Error != nil && j.Error.Message != "" {
				reason = j.Error.Message
			}
			add(st, reason, j)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	sort.SliceStable(groups, func(a, b int) bool { return groups[a].Count > groups[b].Count })
	out := make([]RunFailure, len(groups))
	for i, g := range groups {
		out[i] = *g
	}
	return out, nil
}

// requestFile is the file a job's redacted request names.
func requestFile(j *Job) string {
	var r struct {
		File string `json:"file"`
	}
	_ = json.Unmarshal(j.Request, &r)
	return r.File
}

// EachRunJob calls yield with every job of the run in status st ("" for every job),
// oldest first, a page at a time, stopping at yield's first error.
func (s *Store) EachRunJob(ctx context.Context, id string, st Status, yield func(*Job) error) error {
	cursor := ""
	for {
		jobs, next, err := s.RunJobs(ctx, id, ListOptions{Status: st, Limit: scanPage, Cursor: cursor})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if err := yield(j); err != nil {
				return err
			}
		}
		if next == "" {
			return nil
		}
		cursor = next
	}
}

// RunJobs returns a page of the run's jobs, optionally of one status, oldest first
// (the order they were created in, which is the order bulk read its source), and
// the cursor of the next page. An unknown run is an error matching ErrRunNotFound.
func (s *Store) RunJobs(ctx context.Context, id string, o ListOptions) (jobs []*Job, nextCursor string, err error) {
	if !tasks.ValidRunID(id) {
		return nil, "", fmt.Errorf("%w: %q", ErrRunNotFound, id)
	}
	if o.Status != "" && !o.Status.Valid() {
		return nil, "", fmt.Errorf("jobstore: list: unknown status %q", o.Status)
	}
	ok, err := s.runExists(ctx, id)
	if err != nil {
		return nil, "", err
	}
	if !ok {
		return nil, "", fmt.Errorf("%w: %s", ErrRunNotFound, id)
	}
	sets := func(shard int) []string {
		if o.Status == "" {
			return runKeys(shard, id)[1:]
		}
		return []string{runStatusKey(shard, id, o.Status)}
	}
	also := func(job string) []string { return runKeys(shardOf(job), id)[1:] }
	return s.page(ctx, sets, o.Status, clampLimit(o.Limit), o.Cursor, true, also)
}

// clampLimit is a page size within bounds.
func clampLimit(limit int) int {
	switch {
	case limit <= 0:
		return DefaultListLimit
	case limit > MaxListLimit:
		return MaxListLimit
	}
	return limit
}

// ListRuns returns runs newest first, with their counts, and the cursor of the next
// page ("" after the last). Entries of runs that expired are removed as they are met.
func (s *Store) ListRuns(ctx context.Context, o RunListOptions) (runs []*Run, nextCursor string, err error) {
	limit := clampLimit(o.Limit)
	below := "+"
	if o.Cursor != "" {
		below = "(" + o.Cursor
	}
	runs = make([]*Run, 0, limit)
	for {
		need := limit - len(runs)
		members, err := s.rdb.ZRevRangeByLex(ctx, runsKey, &redis.ZRangeBy{Max: below, Min: "-", Count: int64(need + 1)}).Result()
		if err != nil {
			return nil, "", fmt.Errorf("jobstore: list runs: %w", err)
		}
		page := members[:min(need, len(members))]
		found, err := s.fetchRuns(ctx, page)
		if err != nil {
			return nil, "", err
		}
		runs = append(runs, found...)
		if len(members) <= need {
			return runs, "", nil
		}
		below = "(" + page[len(page)-1]
		if len(runs) == limit {
			return runs, page[len(page)-1], nil
		}
	}
}

// fetchRuns reads the runs of the list's entries in one round trip, dropping the
// entries whose run is gone, or that are not the run's own (an earlier run of the
// same id).
func (s *Store) fetchRuns(ctx context.Context, members []string) ([]*Run, error) {
	if len(members) == 0 {
		return nil, nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		_, ids[i], _ = parseRunMember(m)
	}
	reads, err := s.readRuns(ctx, ids)
	if err != nil {
		return nil, err
	}
	var runs []*Run
	for i, m := range members {
		if _, _, ok := parseRunMember(m); ok && reads[i].entry.Val() == m {
			if run := reads[i].run(ids[i]); run != nil {
				runs = append(runs, run)
				continue
			}
		}
		if err := s.dropRun(ctx, m); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// dropRun removes an entry of the list of runs whose run is gone or that is not the
// run's own. A run that a new job brought back meanwhile is listed again.
func (s *Store) dropRun(ctx context.Context, member string) error {
	ms, id, ok := parseRunMember(member)
	if !ok {
		id = "" // garbage: no run answers to it
	}
	if err := dropRunScript.Run(ctx, s.rdb, []string{runsKey, runEntriesKey}, member, id).Err(); err != nil {
		return fmt.Errorf("jobstore: prune run %s: %w", id, err)
	}
	if id == "" {
		return nil
	}
	back, err := s.runExists(ctx, id)
	if err != nil || !back {
		return err
	}
	created, _ := strconv.ParseInt(ms, 10, 64)
	return s.listRun(ctx, id, created, true)
}

// pruneRuns removes the entries of runs that are gone from the list of runs, and the
// entries of expired jobs from the runs that remain.
func (s *Store) pruneRuns(ctx context.Context) error {
	var cursor uint64
	for {
		members, next, err := s.rdb.ZScan(ctx, runsKey, cursor, "", 100).Result()
		if err != nil {
			return fmt.Errorf("jobstore: prune runs: %w", err)
		}
		for i := 0; i < len(members); i += 2 {
			m := members[i]
			_, id, ok := parseRunMember(m)
			exists := false
			if ok {
				if exists, err = s.runExists(ctx, id); err != nil {
					return fmt.Errorf("jobstore: prune runs: %w", err)
				}
			}
			if !exists {
				if err := s.dropRun(ctx, m); err != nil {
					return err
				}
				continue
			}
			if err := s.pruneRunJobs(ctx, id); err != nil {
				return err
			}
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}

// pruneRunJobs removes the run's entries of jobs that expired.
func (s *Store) pruneRunJobs(ctx context.Context, id string) error {
	for shard := range Shards {
		keys := runKeys(shard, id)
		also := func(string) []string { return keys[1:] }
		for _, set := range keys[1:] {
			if _, err := s.pruneSet(ctx, set, also); err != nil {
				return fmt.Errorf("jobstore: prune run %s: %w", id, err)
			}
		}
	}
	return nil
}
