package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/tasks"
)

// Runs: a job whose spec names a run is indexed under it, by the same scripts that
// create and move the job, so a run's counts are always those of its jobs.
//
//	ikq:{jobs}:runs                 ZSET, score 0, members "<created ms, 13 digits>:<run id>":
//	                                lexicographic = creation order
//	ikq:{jobs}:run:<id>             HASH id, created (ms), source, mode, folder, root
//	ikq:{jobs}:run:<id>:jobs        ZSET of its job ids (creation order)
//	ikq:{jobs}:run:<id>:status:<s>  ZSET of its job ids in status s
//
// A run lives while any of its jobs is unfinished; once none is, its keys expire
// after the retention, with its last job. Its entry in the list of runs is removed
// by ListRuns and Prune once the run is gone.
type (
	Run            = tasks.Run
	RunCounts      = tasks.RunCounts
	RunFailure     = tasks.RunFailure
	RunInfo        = tasks.RunInfo
	RunListOptions = tasks.RunListOptions
)

// ErrRunNotFound: no run has this id. It matches ErrNotFound too.
var ErrRunNotFound = tasks.ErrRunNotFound

const runsKey = prefix + "runs"

func runKey(id string) string { return prefix + "run:" + id }

// runKeys are a run's keys: its hash, its jobs, then its status sets in the order
// of statuses. The scripts rely on this order.
func runKeys(id string) []string {
	keys := []string{runKey(id), runKey(id) + ":jobs"}
	for _, s := range statuses {
		keys = append(keys, runStatusKey(id, s))
	}
	return keys
}

func runStatusKey(id string, s Status) string { return runKey(id) + ":status:" + string(s) }

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

// RecordRun records what ikq bulk says of a run (source, mode, folder, root), creating
// the run when it is new. A run with no jobs expires after the retention.
func (s *Store) RecordRun(ctx context.Context, info RunInfo) error {
	if !tasks.ValidRunID(info.ID) {
		return fmt.Errorf("jobstore: record run: %q is not a run id", info.ID)
	}
	now := s.clock().UnixMilli()
	args := []any{info.ID, now, runMember(now, info.ID), s.runTTLMillis()}
	for _, f := range [][2]string{{"source", info.Source}, {"mode", info.Mode}, {"folder", info.Folder}, {"root", info.Root}} {
		if f[1] != "" {
			args = append(args, f[0], f[1])
		}
	}
	keys := append([]string{runsKey}, runKeys(info.ID)...)
	if err := recordRunScript.Run(ctx, s.rdb, keys, args...).Err(); err != nil {
		return fmt.Errorf("jobstore: record run %s: %w", info.ID, err)
	}
	return nil
}

// runReads are the pipelined reads of one run.
type runReads struct {
	hash   *redis.MapStringStringCmd
	total  *redis.IntCmd
	counts []*redis.IntCmd // in the order of statuses
}

func readRun(ctx context.Context, pipe redis.Pipeliner, id string) *runReads {
	r := &runReads{hash: pipe.HGetAll(ctx, runKey(id)), total: pipe.ZCard(ctx, runKey(id)+":jobs")}
	for _, st := range statuses {
		r.counts = append(r.counts, pipe.ZCard(ctx, runStatusKey(id, st)))
	}
	return r
}

// run builds the run read, or nil when it does not exist.
func (r *runReads) run(id string) *Run {
	h := r.hash.Val()
	if len(h) == 0 || h["created"] == "" {
		return nil
	}
	ms, _ := strconv.ParseInt(h["created"], 10, 64)
	run := &Run{ID: id, CreatedAt: time.UnixMilli(ms).UTC(), Source: h["source"], Mode: h["mode"],
		Folder: h["folder"], Root: h["root"], Total: r.total.Val()}
	for i, st := range statuses {
		run.Counts.Set(st, r.counts[i].Val())
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
	pipe := s.rdb.Pipeline()
	reads := readRun(ctx, pipe, id)
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("jobstore: read run %s: %w", id, err)
	}
	run := reads.run(id)
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
	n, err := s.rdb.Exists(ctx, runKey(id)).Result()
	if err != nil {
		return nil, "", fmt.Errorf("jobstore: read run %s: %w", id, err)
	}
	if n == 0 {
		return nil, "", fmt.Errorf("%w: %s", ErrRunNotFound, id)
	}
	index := runKey(id) + ":jobs"
	if o.Status != "" {
		index = runStatusKey(id, o.Status)
	}
	return s.page(ctx, index, o.Status, clampLimit(o.Limit), o.Cursor, true, runKeys(id)[1:])
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
// entries whose run is gone.
func (s *Store) fetchRuns(ctx context.Context, members []string) ([]*Run, error) {
	if len(members) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	reads := make([]*runReads, len(members))
	ids := make([]string, len(members))
	for i, m := range members {
		_, id, ok := parseRunMember(m)
		if !ok {
			continue
		}
		ids[i] = id
		reads[i] = readRun(ctx, pipe, id)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("jobstore: list runs: %w", err)
	}
	var runs []*Run
	for i, m := range members {
		var run *Run
		if reads[i] != nil {
			run = reads[i].run(ids[i])
		}
		ms, _, _ := parseRunMember(m)
		if run != nil && strconv.FormatInt(run.CreatedAt.UnixMilli(), 10) == strings.TrimLeft(ms, "0") {
			runs = append(runs, run)
			continue
		}
		if err := s.dropRun(ctx, m); err != nil {
			return nil, err
		}
	}
	return runs, nil
}

// dropRun removes an entry of the list of runs whose run is gone.
func (s *Store) dropRun(ctx context.Context, member string) error {
	ms, id, ok := parseRunMember(member)
	key := runKey(id)
	if !ok {
		key, ms = runKey(""), "-" // garbage: no run answers to it
	}
	created := strings.TrimLeft(ms, "0")
	if err := dropRunScript.Run(ctx, s.rdb, []string{runsKey, key}, member, created).Err(); err != nil {
		return fmt.Errorf("jobstore: prune run %s: %w", id, err)
	}
	return nil
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
			n, err := s.rdb.Exists(ctx, runKey(id)).Result()
			if err != nil {
				return fmt.Errorf("jobstore: prune runs: %w", err)
			}
			if !ok || n == 0 {
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
	keys := runKeys(id)
	var cursor uint64
	for {
		ids, next, err := s.rdb.ZScan(ctx, keys[1], cursor, "", scanPage).Result()
		if err != nil {
			return fmt.Errorf("jobstore: prune run %s: %w", id, err)
		}
		members := make([]string, 0, len(ids)/2)
		for i := 0; i < len(ids); i += 2 {
			members = append(members, ids[i])
		}
		if _, err := s.pruneMissing(ctx, members, keys[1:]); err != nil {
			return err
		}
		if cursor = next; cursor == 0 {
			return nil
		}
	}
}
