package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// runJob creates a job of run with the given file.
func runJob(t *testing.T, s *Store, run, file string) *Job {
	t.Helper()
	return mustCreate(t, s, &Job{Queue: "default", MaxAttempts: 3, Run: run,
		Request: json.RawMessage(fmt.Sprintf(`{"file":%q,"fileName":"a.jpg","run":%q}`, file, run))})
}

func fail(t *testing.T, s *Store, id, msg string) {
	t.Helper()
	if _, err := s.Transition(context.Background(), id, StatusFailed, msg, func(j *Job) error {
		j.Error = &JobError{Code: "upload_rejected", Message: msg}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}

// TestRunCountsFollowTransitions: the run's counts move with its jobs' statuses, in
// the same scripts, and jobs of other runs or of none are not counted.
func TestRunCountsFollowTransitions(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	var ids []string
	for i := range 6 {
		ids = append(ids, runJob(t, s, "mig-1", fmt.Sprintf("file:///src/%d.png", i)).ID)
	}
	runJob(t, s, "other", "file:///x.png")
	mustCreate(t, s, nil)

	mustTransition(t, s, ids[0], StatusActive)
	mustTransition(t, s, ids[0], StatusCompleted)
	mustTransition(t, s, ids[1], StatusActive)
	mustTransition(t, s, ids[1], StatusUploaded)
	fail(t, s, ids[2], "Your account cannot be authenticated.")
	mustTransition(t, s, ids[3], StatusActive)
	fail(t, s, ids[3], "File type not allowed.")
	fail(t, s, ids[4], "File type not allowed.")
	mustTransition(t, s, ids[5], StatusCanceled)

	run, err := s.GetRun(ctx, "mig-1", true)
	if err != nil {
		t.Fatal(err)
	}
	want := RunCounts{Uploaded: 1, Completed: 1, Failed: 3, Canceled: 1}
	if run.Counts != want || run.Total != 6 || run.Done {
		t.Errorf("run: counts %+v total %d done %v; want %+v, 6, not done", run.Counts, run.Total, run.Done, want)
	}
	if len(run.Failures) != 3 {
		t.Fatalf("failures %+v, want 3 groups", run.Failures)
	}
	top := run.Failures[0]
	if top.Reason != "File type not allowed." || top.Count != 2 || top.Status != StatusFailed || len(top.Examples) != 2 ||
		top.Examples[0].JobID != ids[3] || top.Examples[0].Source != "file:///src/3.png" {
		t.Errorf("largest failure group %+v, want the 2 jobs refused for their type, with their sources", top)
	}
	last := run.Failures[2]
	if last.Reason != "canceled" || last.Status != StatusCanceled || last.Count != 1 {
		t.Errorf("failure group %+v, want the canceled job", last)
	}

	mustTransition(t, s, ids[1], StatusCompleted)
	run, err = s.GetRun(ctx, "mig-1", false)
	if err != nil {
		t.Fatal(err)
	}
	if !run.Done || run.Counts.Completed != 2 || run.Failures != nil {
		t.Errorf("after the last job ended: %+v, want done with 2 completed and no failures read", run)
	}

	// The failed ones, oldest first.
	failed, next, err := s.RunJobs(ctx, "mig-1", ListOptions{Status: StatusFailed, Limit: 2})
	if err != nil || len(failed) != 2 || failed[0].ID != ids[2] || failed[1].ID != ids[3] || next == "" {
		t.Fatalf("failed jobs, page 1: %v, next %q, %v", jobIDs(failed), next, err)
	}
	failed, next, err = s.RunJobs(ctx, "mig-1", ListOptions{Status: StatusFailed, Limit: 2, Cursor: next})
	if err != nil || len(failed) != 1 || failed[0].ID != ids[4] || next != "" {
		t.Fatalf("failed jobs, page 2: %v, next %q, %v", jobIDs(failed), next, err)
	}
	all, _, err := s.RunJobs(ctx, "mig-1", ListOptions{Limit: 100})
	if err != nil || len(all) != 6 || all[0].ID != ids[0] || all[5].ID != ids[5] || all[0].Run != "mig-1" {
		t.Errorf("all jobs of the run: %v, %v; want the 6 in creation order", jobIDs(all), err)
	}
	// A failed job retried leaves the failed set.
	mustTransition(t, s, ids[2], StatusQueued)
	if run, _ := s.GetRun(ctx, "mig-1", false); run.Counts.Failed != 2 || run.Counts.Queued != 1 || run.Done {
		t.Errorf("after a retry: %+v", run.Counts)
	}
}

func jobIDs(jobs []*Job) []string {
	out := make([]string, len(jobs))
	for i, j := range jobs {
		out[i] = j.ID
	}
	return out
}

func TestRunNotFound(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	for _, id := range []string{"nope", "", "bad id", "../x"} {
		if _, err := s.GetRun(ctx, id, false); !errors.Is(err, ErrRunNotFound) || !errors.Is(err, ErrNotFound) {
			t.Errorf("GetRun(%q): %v, want ErrRunNotFound (and ErrNotFound)", id, err)
		}
		if _, _, err := s.RunJobs(ctx, id, ListOptions{}); !errors.Is(err, ErrRunNotFound) {
			t.Errorf("RunJobs(%q): %v, want ErrRunNotFound", id, err)
		}
	}
}

// TestListRuns: runs newest first, a page at a time, with their counts and what bulk
// recorded of them; a run recorded before its first job keeps its creation time.
func TestListRuns(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	if err := s.RecordRun(ctx, RunInfo{ID: "r0", Source: "photos", Mode: "local", Folder: "/mig", Root: "/home/u/photos"}); err != nil {
		t.Fatal(err)
	}
	before, err := s.GetRun(ctx, "r0", false)
	if err != nil || before.Total != 0 || !before.Done {
		t.Fatalf("a run recorded with no jobs: %+v, %v", before, err)
	}
	runJob(t, s, "r0", "file:///a")
	for i := 1; i < 5; i++ {
		runJob(t, s, fmt.Sprintf("r%d", i), "file:///a")
		runJob(t, s, fmt.Sprintf("r%d", i), "file:///b")
	}
	var got []string
	cursor := ""
	for pages := 0; ; pages++ {
		runs, next, err := s.ListRuns(ctx, RunListOptions{Limit: 2, Cursor: cursor})
		if err != nil || pages > 5 {
			t.Fatalf("ListRuns: %v (page %d)", err, pages)
		}
		for _, r := range runs {
			got = append(got, r.ID)
			if r.ID == "r0" {
				if r.Source != "photos" || r.Mode != "local" || r.Folder != "/mig" || r.Root != "/home/u/photos" ||
					r.Total != 1 || r.Counts.Queued != 1 || !r.CreatedAt.Equal(before.CreatedAt) {
					t.Errorf("run r0 %+v, want what bulk recorded, 1 queued job, created %v", r, before.CreatedAt)
				}
			} else if r.Total != 2 || r.Counts.Queued != 2 {
				t.Errorf("run %s: %+v, want 2 queued jobs", r.ID, r)
			}
		}
		if next == "" {
			break
		}
		cursor = next
	}
	if want := "r4 r3 r2 r1 r0"; fmt.Sprint(got) != "["+want+"]" {
		t.Errorf("runs %v, want %s", got, want)
	}
}

// TestRunRetention: a run lives while a job of it is unfinished, then expires with its
// last job; List, RunJobs and Prune tidy what expired, and the list of runs drops it.
func TestRunRetention(t *testing.T) {
	t.Parallel()
	const retention = time.Hour
	s, rdb := newStore(t, Options{Retention: retention})
	ctx := t.Context()
	// A run's keys live and expire shard by shard: a and b share one.
	const shard = 5
	inShard := func(file string) *Job {
		return mustCreate(t, s, &Job{ID: newID(time.Now(), shard), Queue: "default", MaxAttempts: 3, Run: "keep",
			Request: json.RawMessage(fmt.Sprintf(`{"file":%q,"fileName":"a.jpg","run":"keep"}`, file))})
	}
	a := inShard("file:///a")
	b := inShard("file:///b")
	keys := runKeys(shard, "keep")
	persistent := func(step string) {
		t.Helper()
		for _, k := range keys[:2] {
			if ttl := rdb.PTTL(ctx, k).Val(); ttl != -1 {
				t.Errorf("%s: %s has TTL %v, want none", step, k, ttl)
			}
		}
	}
	persistent("two queued jobs")
	mustTransition(t, s, a.ID, StatusCanceled)
	persistent("one job still queued")
	mustTransition(t, s, b.ID, StatusFailed)
	for _, k := range keys {
		if ttl := rdb.PTTL(ctx, k).Val(); ttl != -2 && (ttl < time.Second || ttl > retention) {
			t.Errorf("every job ended: %s has TTL %v, want in [1s, %v]", k, ttl, retention)
		}
	}
	mustTransition(t, s, b.ID, StatusQueued) // retried
	persistent("a job retried")

	// b expires (as Redis would drop it): listing the run's jobs prunes its entries.
	mustTransition(t, s, b.ID, StatusCanceled)
	rdb.Del(ctx, jobKey(b.ID))
	jobs, _, err := s.RunJobs(ctx, "keep", ListOptions{})
	if err != nil || len(jobs) != 1 || jobs[0].ID != a.ID {
		t.Fatalf("jobs after one expired: %v, %v", jobIDs(jobs), err)
	}
	if run, _ := s.GetRun(ctx, "keep", false); run.Total != 1 || run.Counts.Canceled != 1 {
		t.Errorf("counts after one job expired and was pruned: %+v, total %d", run.Counts, run.Total)
	}

	// The whole run expires: Prune drops it from the list of runs.
	other := runJob(t, s, "gone", "file:///c")
	rdb.Del(ctx, jobKey(other.ID))
	for shard := range Shards {
		for _, k := range runKeys(shard, "gone") {
			rdb.Del(ctx, k)
		}
	}
	if _, err := s.Prune(ctx); err != nil {
		t.Fatal(err)
	}
	runs, _, err := s.ListRuns(ctx, RunListOptions{})
	if err != nil || len(runs) != 1 || runs[0].ID != "keep" {
		t.Errorf("runs after one expired: %v, %v", runs, err)
	}
	if n := rdb.ZCard(ctx, runsKey).Val(); n != 1 {
		t.Errorf("the list of runs holds %d entries, want 1", n)
	}
	// A new run of the same id later is a new run.
	runJob(t, s, "gone", "file:///d")
	if run, err := s.GetRun(ctx, "gone", false); err != nil || run.Total != 1 {
		t.Errorf("the id used again: %+v, %v", run, err)
	}
}

// TestDeleteLeavesNoRunEntry: a job undone after its enqueue failed leaves its run.
func TestDeleteLeavesNoRunEntry(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	j := runJob(t, s, "undo", "file:///a")
	if err := s.Delete(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	for _, k := range runKeys(shardOf(j.ID), "undo")[1:] {
		if n := rdb.ZCard(ctx, k).Val(); n != 0 {
			t.Errorf("%s holds %d after Delete", k, n)
		}
	}
	// With no job left in the shard, the run's keys there expire.
	if ttl := rdb.PTTL(ctx, runKey(shardOf(j.ID), "undo")).Val(); ttl <= 0 {
		t.Errorf("the run's hash has TTL %v after its only job was deleted, want one", ttl)
	}
}

func TestRunImmutable(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	j := runJob(t, s, "fixed", "file:///a")
	_, err := s.Update(t.Context(), j.ID, func(j *Job) error { j.Run = "moved"; return nil })
	if !errors.Is(err, errImmutable) {
		t.Errorf("changing a job's run: %v, want refused", err)
	}
}

func FuzzParseRunMember(f *testing.F) {
	f.Add(runMember(1733200000000, "bulk-1"))
	f.Add("")
	f.Add("12:x")
	f.Add("-000000000001:x")
	f.Fuzz(func(t *testing.T, m string) {
		ms, id, ok := parseRunMember(m)
		if ok && (len(ms) != 13 || id == "" || ms+":"+id != m || strings.Trim(ms, "0123456789") != "") {
			t.Errorf("parseRunMember(%q) = %q, %q", m, ms, id)
		}
	})
}

// TestRunCountsUnderConcurrentWrites: many writers moving the jobs of one run at once
// leave counts that add up, because the counts move in the scripts that move the jobs.
func TestRunCountsUnderConcurrentWrites(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	var ids []string
	for i := range 24 {
		ids = append(ids, runJob(t, s, "busy", fmt.Sprintf("file:///%d", i)).ID)
	}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Go(func() {
			// Two writers per job: a worker taking it to its end, and a webhook-like
			// Update racing it.
			end := StatusCompleted
			if i%3 == 0 {
				end = StatusFailed
			}
			if _, err := s.Transition(ctx, id, StatusActive, "attempt 1", nil); err != nil {
				t.Error(err)
				return
			}
			if _, err := s.Transition(ctx, id, end, "done", nil); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			if _, err := s.Update(ctx, id, func(j *Job) error { j.Extensions = map[string]string{"x": "success"}; return nil }); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	run, err := s.GetRun(ctx, "busy", false)
	if err != nil {
		t.Fatal(err)
	}
	if want := (RunCounts{Completed: 16, Failed: 8}); run.Counts != want || run.Total != 24 || !run.Done {
		t.Errorf("counts %+v total %d done %v, want %+v of 24, done", run.Counts, run.Total, run.Done, want)
	}
}
