package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"reflect"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTrips counts the round trips a client makes, those that set up a connection
// aside.
type roundTrips struct{ n atomic.Int64 }

func setup(cmd redis.Cmder) bool { return cmd.Name() == "hello" || cmd.Name() == "client" }

func (r *roundTrips) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (r *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !setup(cmd) {
			r.n.Add(1)
		}
		return next(ctx, cmd)
	}
}

func (r *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 && !setup(cmds[0]) {
			r.n.Add(1)
		}
		return next(ctx, cmds)
	}
}

// TestHappyPathRoundTrips: a worker's Start is one read and one write; its outcome,
// with the file's lookup and the parked statuses read, one round trip.
func TestHappyPathRoundTrips(t *testing.T) {
	t.Parallel()
	producer, rdb := newStore(t, Options{})
	worker := New(rdb, Options{})
	counter := &roundTrips{}
	rdb.AddHook(counter)
	happyPath(t, producer, worker, counter, "file_0", false) // loads the scripts
	happyPath(t, producer, worker, counter, "file_1", true)
}

// happyPath runs one job through Create, Start and Record, and checks the round
// trips of the last two when check.
func happyPath(t *testing.T, producer, worker *Store, counter *roundTrips, fileID string, check bool) {
	t.Helper()
	ctx := context.Background()
	j, _, err := producer.Create(ctx, &Job{Queue: "default", MaxAttempts: 3}, json.RawMessage(`{"file":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	counter.n.Store(0)
	var spec string
	if _, err := worker.Start(ctx, j.ID, StatusActive, "attempt 1 of 3", func(_ *Job, raw json.RawMessage) error {
		spec = string(raw)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if spec != `{"file":"x"}` {
		t.Errorf("Start gave the spec %q", spec)
	}
	if n := counter.n.Swap(0); check && n != 2 {
		t.Errorf("Start: %d round trips, want 2", n)
	}
	got, parked, err := worker.Record(ctx, j.ID, func(j *Job) (Status, string, error) {
		j.FileID = fileID
		return StatusCompleted, "uploaded", nil
	}, SpreadKey("parked", fileID))
	if err != nil {
		t.Fatal(err)
	}
	if n := counter.n.Swap(0); check && n != 1 {
		t.Errorf("Record: %d round trips, want 1", n)
	}
	if got.Status != StatusCompleted || len(parked) != 0 {
		t.Errorf("Record: status %s, parked %v", got.Status, parked)
	}
	if id, err := worker.JobForFile(ctx, fileID); err != nil || id != j.ID {
		t.Errorf("JobForFile = %q, %v; want %s", id, err, j.ID)
	}
	checkConsistent(t, worker.rdb.(*redis.Client), got)
}

// TestHeldJobMovedMeanwhile: a write by another Store (a webhook, a cancel) between
// two writes of one Store is not lost: the second write finds the version moved and
// reads the job again.
func TestHeldJobMovedMeanwhile(t *testing.T) {
	t.Parallel()
	worker, rdb := newStore(t, Options{})
	other := New(rdb, Options{})
	ctx := context.Background()
	j := mustCreate(t, worker, nil)
	if _, err := worker.Transition(ctx, j.ID, StatusActive, "attempt 1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Update(ctx, j.ID, func(j *Job) error {
		j.Extensions = map[string]string{"remove-bg": "success"}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	got, err := worker.Transition(ctx, j.ID, StatusCompleted, "uploaded", nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.Extensions["remove-bg"] != "success" {
		t.Errorf("the other write was lost: extensions %v", got.Extensions)
	}

	// Canceled meanwhile: the held job was active, the stored one is canceled.
	k := mustCreate(t, worker, nil)
	if _, err := worker.Transition(ctx, k.ID, StatusActive, "attempt 1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Transition(ctx, k.ID, StatusCanceled, "canceled", nil); err != nil {
		t.Fatal(err)
	}
	_, err = worker.Transition(ctx, k.ID, StatusCompleted, "uploaded", nil)
	var te *TransitionError
	if !errors.As(err, &te) || te.From != StatusCanceled {
		t.Errorf("completing a job canceled meanwhile: %v, want a TransitionError from canceled", err)
	}
	stored, err := worker.Get(ctx, k.ID)
	if err != nil || stored.Status != StatusCanceled {
		t.Errorf("stored job %v, %v; want canceled", stored, err)
	}
}

// TestVersionsDiffer: two writes from one version give different versions, so a job
// remembered at a version is not taken for another written to the same count.
func TestVersionsDiffer(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for range 100 {
		v := nextVersion("1")
		if versionWrites(v) != 2 {
			t.Fatalf("nextVersion(1) = %s: %d writes, want 2", v, versionWrites(v))
		}
		seen[v] = true
	}
	if len(seen) < 90 {
		t.Errorf("%d distinct versions of 100", len(seen))
	}
	if nextVersion("garbage") != "" {
		t.Errorf("nextVersion of a non-number is not empty")
	}
}

// TestCloneJob: a clone shares nothing a write changes with its original, and covers
// every field of Job and of what it points to.
func TestCloneJob(t *testing.T) {
	t.Parallel()
	for typ, want := range map[reflect.Type]int{
		reflect.TypeFor[Job]():      17,
		reflect.TypeFor[JobError](): 4,
		reflect.TypeFor[Callback](): 5,
		reflect.TypeFor[Event]():    3,
	} {
		if n := typ.NumField(); n != want {
			t.Errorf("%s has %d fields, cloneJob knows %d: teach it the new ones", typ, n, want)
		}
	}
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	orig := &Job{ID: "a", Status: StatusActive, NextAttemptAt: &now, Request: json.RawMessage(`{"a":1}`),
		Result: json.RawMessage(`{"b":2}`), Extensions: map[string]string{"x": "pending"},
		Error: &JobError{Code: "c"}, Callback: &Callback{URL: "u", DeliveredAt: &now},
		Events: []Event{{Time: now, State: StatusQueued, Message: "m"}}}
	before, _ := json.Marshal(orig)
	c := cloneJob(orig)
	if got, _ := json.Marshal(c); string(got) != string(before) {
		t.Fatalf("clone %s\nwant %s", got, before)
	}
	*c.NextAttemptAt = now.Add(time.Hour)
	c.Request[2], c.Result[2] = 'z', 'z'
	c.Extensions["x"] = "success"
	c.Error.Code = "d"
	c.Callback.URL = "v"
	*c.Callback.DeliveredAt = now.Add(time.Hour)
	c.Events[0].Message = "n"
	if after, _ := json.Marshal(orig); string(after) != string(before) {
		t.Errorf("changing the clone changed the original:\n%s\nwas %s", after, before)
	}
}
