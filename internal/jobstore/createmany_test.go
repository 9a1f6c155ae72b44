package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
)

// TestCreateMany: a batch of new jobs, jobs whose idempotency key names an earlier
// job, two jobs of one new key, a job of a run and a job whose id is taken each get
// what Create would give them, in order, with their specs stored; once the script is
// loaded, the batch takes two round trips.
func TestCreateMany(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := context.Background()
	earlier := mustCreate(t, s, &Job{Queue: "default", IdempotencyKey: "order-1"})
	taken := mustCreate(t, s, nil)

	counter := &roundTrips{}
	rdb.AddHook(counter)
	batch := func(tag string) ([]*Job, []json.RawMessage) {
		jobs := []*Job{
			{Queue: "default"},
			{Queue: "low", IdempotencyKey: "order-1"},
			{Queue: "default", IdempotencyKey: "order-new-" + tag},
			{Queue: "default", IdempotencyKey: "order-new-" + tag},
			{Queue: "default", Run: "run-" + tag},
			{ID: taken.ID, Queue: "default"},
			{Queue: "default"},
		}
		specs := make([]json.RawMessage, len(jobs))
		for i := range specs {
			specs[i] = json.RawMessage(fmt.Sprintf(`{"file":"https://example.com/%s/%d.png"}`, tag, i))
		}
		return jobs, specs
	}
	check := func(tag string, out []Created, specs []json.RawMessage) {
		t.Helper()
		if len(out) != 7 {
			t.Fatalf("%d results for 7 jobs", len(out))
		}
		for _, i := range []int{0, 2, 4, 6} {
			got := out[i]
			if got.Err != nil || got.Existed || got.Job == nil || got.Job.Status != StatusQueued {
				t.Fatalf("%s: job %d: %+v", tag, i, got)
			}
			spec, err := s.Spec(ctx, got.Job.ID)
			if err != nil || string(spec) != string(specs[i]) {
				t.Errorf("%s: job %d: spec %s, %v; want %s", tag, i, spec, err, specs[i])
			}
		}
		if got := out[1]; got.Err != nil || !got.Existed || got.Job.ID != earlier.ID || got.Job.Queue != "default" {
			t.Errorf("%s: the key of an earlier job: %+v, want job %s, existed", tag, got, earlier.ID)
		}
		if got := out[3]; got.Err != nil || !got.Existed || got.Job.ID != out[2].Job.ID {
			t.Errorf("%s: the second job of a new key: %+v, want job %s, existed", tag, got, out[2].Job.ID)
		}
		if got := out[5]; !errors.Is(got.Err, ErrConflict) || got.Job != nil {
			t.Errorf("%s: a taken id: %+v, want ErrConflict", tag, got)
		}
		if out[0].Job.ID == out[6].Job.ID {
			t.Errorf("%s: two new jobs share id %s", tag, out[0].Job.ID)
		}
		run, err := s.GetRun(ctx, "run-"+tag, false)
		if err != nil || run.Counts.Queued != 1 {
			t.Errorf("%s: run: %+v, %v; want one job", tag, run, err)
		}
	}

	jobs, specs := batch("a") // loads the script (Create, one job at a time)
	check("a", s.CreateMany(ctx, jobs, specs), specs)

	jobs, specs = batch("b")
	before := counter.n.Load()
	out := s.CreateMany(ctx, jobs, specs)
	// The run listed before its jobs and again once new in its shard (as Create
	// does), the key reads, the creates, and Create's key read and script for the
	// second job of the new key, whose key changed under it.
	if n := counter.n.Load() - before; n != 6 {
		t.Errorf("CreateMany of 7 jobs took %d round trips, want 6", n)
	}
	check("b", out, specs)
}
