package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

func TestCreateGetRoundTrip(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	next := time.Date(2026, 5, 2, 0, 0, 0, 0, time.UTC)
	in := &Job{
		Queue:         "critical",
		MaxAttempts:   7,
		Request:       json.RawMessage(`{"file":"s3://b/k.png","fileName":"k.png","tags":["a","b"]}`),
		Result:        json.RawMessage(`{"fileId":"f1"}`),
		Extensions:    map[string]string{"remove-bg": "pending"},
		Callback:      &Callback{URL: "https://app.example/cb", Status: "pending"},
		NextAttemptAt: &next,
		Error:         &JobError{Code: "x", Message: "y", Retryable: true, HTTPStatus: 503},
		Status:        StatusCompleted,                      // ignored: a new job is queued
		Events:        []Event{{Message: "caller's event"}}, // replaced by the first event
	}
	j := mustCreate(t, s, in)
	if in.ID != "" || in.Status != StatusCompleted {
		t.Errorf("Create modified its argument: %+v", in)
	}
	if len(j.ID) != 26 {
		t.Errorf("ID = %q, want a 26-character ULID", j.ID)
	}
	if j.Status != StatusQueued || j.CreatedAt.IsZero() || !j.UpdatedAt.Equal(j.CreatedAt) {
		t.Errorf("new job: status %q created %v updated %v", j.Status, j.CreatedAt, j.UpdatedAt)
	}
	if len(j.Events) != 1 || j.Events[0].State != StatusQueued || !j.Events[0].Time.Equal(j.CreatedAt) {
		t.Errorf("events = %+v, want one queued event at creation", j.Events)
	}

	got, err := s.Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, j) {
		t.Errorf("Get = %+v\nwant %+v", got, j)
	}
	checkConsistent(t, rdb, got)

	// The stored doc is exactly the Job's JSON.
	doc, _ := json.Marshal(j)
	if st := readStored(t, rdb, j.ID); st.doc != string(doc) || st.v != "1" {
		t.Errorf("stored doc %s v %s\nwant %s v 1", st.doc, st.v, doc)
	}

	if _, err := s.Get(ctx, "01HZZZZZZZZZZZZZZZZZZZZZZZ"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get unknown id: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get empty id: %v, want ErrNotFound", err)
	}
}

func TestCreateWithGivenIDTwice(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	j := mustCreate(t, s, &Job{ID: "job-1"})
	if j.ID != "job-1" {
		t.Fatalf("ID = %q", j.ID)
	}
	if _, _, err := s.Create(t.Context(), &Job{ID: "job-1"}, nil); !errors.Is(err, ErrConflict) {
		t.Errorf("second Create with the same id: %v, want ErrConflict", err)
	}
}

func TestJobJSONFieldNames(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	j := Job{ID: "i", Status: StatusUploaded, Queue: "q", Attempts: 1, MaxAttempts: 2,
		NextAttemptAt: &at, CreatedAt: at, UpdatedAt: at, IdempotencyKey: "k", Run: "r",
		Request: json.RawMessage(`{}`), Result: json.RawMessage(`{}`), FileID: "f",
		Extensions: map[string]string{"e": "pending"},
		Error:      &JobError{Code: "c", Message: "m", Retryable: true, HTTPStatus: 500},
		Callback:   &Callback{URL: "u", Status: "delivered", Attempts: 1, LastError: "l", DeliveredAt: &at},
		Events:     []Event{{Time: at, State: StatusQueued, Message: "m"}}}
	b, err := json.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"id", "status", "queue", "attempts", "maxAttempts", "nextAttemptAt",
		"createdAt", "updatedAt", "idempotencyKey", "run", "request", "result", "fileId", "extensions",
		"error", "callback", "events"} {
		if _, ok := m[k]; !ok {
			t.Errorf("JSON lacks %q: %s", k, b)
		}
	}
	if len(m) != 17 {
		t.Errorf("JSON has %d fields, want 17: %s", len(m), b)
	}
	if e := m["error"].(map[string]any); e["httpStatus"] != 500.0 || e["retryable"] != true {
		t.Errorf("error JSON = %v", e)
	}
	if c := m["callback"].(map[string]any); c["lastError"] != "l" || c["deliveredAt"] == nil {
		t.Errorf("callback JSON = %v", c)
	}

	// Omitted when empty, except request and events.
	b, _ = json.Marshal(Job{})
	for _, k := range []string{"nextAttemptAt", "idempotencyKey", "run", "result", "fileId", "extensions", "error", "callback"} {
		if strings.Contains(string(b), `"`+k+`"`) {
			t.Errorf("empty job JSON has %q: %s", k, b)
		}
	}
}

func TestIdempotencyKey(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	first, existed, err := s.Create(ctx, &Job{IdempotencyKey: "order-42", Queue: "default"}, nil)
	if err != nil || existed {
		t.Fatalf("first Create: existed %v, err %v", existed, err)
	}
	second, existed, err := s.Create(ctx, &Job{IdempotencyKey: "order-42", Queue: "low"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !existed || second.ID != first.ID || second.Queue != "default" {
		t.Errorf("second Create = %+v, existed %v; want the first job", second, existed)
	}
	if n := indexed(t, rdb, ""); n != 1 {
		t.Errorf("%d jobs stored, want 1", n)
	}
	// The existing job is returned as it is now, not as it was created.
	mustTransition(t, s, first.ID, StatusActive)
	third, existed, err := s.Create(ctx, &Job{IdempotencyKey: "order-42"}, nil)
	if err != nil || !existed || third.Status != StatusActive {
		t.Errorf("third Create = status %q existed %v err %v; want the active job", third.Status, existed, err)
	}
	// Another key is another job.
	other := mustCreate(t, s, &Job{IdempotencyKey: "order-43"})
	if other.ID == first.ID {
		t.Error("a different key returned the same job")
	}
	if got := rdb.Get(ctx, idemKey("order-42")).Val(); got != first.ID {
		t.Errorf("idem key names %q, want %q", got, first.ID)
	}
}

func TestIdempotencyKeyOfVanishedJobIsReused(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	old := mustCreate(t, s, &Job{IdempotencyKey: "k"})
	rdb.Del(ctx, jobKey(old.ID)) // as if it expired a moment before its key
	j, existed, err := s.Create(ctx, &Job{IdempotencyKey: "k"}, nil)
	if err != nil || existed || j.ID == old.ID {
		t.Fatalf("Create after the job vanished: id %s (old %s) existed %v err %v", j.ID, old.ID, existed, err)
	}
	if got := rdb.Get(ctx, idemKey("k")).Val(); got != j.ID {
		t.Errorf("idem key names %q, want the new job %q", got, j.ID)
	}
}

func TestIdempotencyKeyConcurrent(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	const n = 20
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		ids     = map[string]int{}
		created int
		errs    []error
	)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			j, existed, err := s.Create(ctx, &Job{IdempotencyKey: "same", Queue: fmt.Sprint(i)}, nil)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			ids[j.ID]++
			if !existed {
				created++
			}
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		t.Fatalf("errors: %v", errs)
	}
	if created != 1 || len(ids) != 1 {
		t.Errorf("created %d jobs, saw ids %v; want exactly one job", created, ids)
	}
	if c := indexed(t, rdb, ""); c != 1 {
		t.Errorf("index holds %d jobs, want 1", c)
	}
	if keys := rdb.Keys(ctx, "ikq:*:job:*").Val(); len(keys) != 1 {
		t.Errorf("job keys %v, want one", keys)
	}
}

// setupIn brings a new job to status st along a legal path.
func setupIn(t *testing.T, s *Store, st Status) *Job {
	t.Helper()
	paths := map[Status][]Status{
		StatusQueued:    nil,
		StatusActive:    {StatusActive},
		StatusRetrying:  {StatusActive, StatusRetrying},
		StatusUploaded:  {StatusActive, StatusUploaded},
		StatusCompleted: {StatusActive, StatusCompleted},
		StatusFailed:    {StatusFailed},
		StatusCanceled:  {StatusCanceled},
	}
	j := mustCreate(t, s, nil)
	for _, to := range paths[st] {
		j = mustTransition(t, s, j.ID, to)
	}
	return j
}

func TestTransitions(t *testing.T) {
	t.Parallel()
	// The state machine of the job (see the package doc), written out: every pair not here is illegal.
	legal := map[string]bool{
		"queued→active": true, "queued→failed": true, "queued→canceled": true,
		"active→active": true, "active→retrying": true, "active→uploaded": true,
		"active→completed": true, "active→failed": true, "active→canceled": true, "active→queued": true,
		"retrying→active": true, "retrying→retrying": true, "retrying→failed": true,
		"retrying→canceled": true, "retrying→queued": true,
		"uploaded→uploaded": true, "uploaded→completed": true,
		"failed→queued": true, "canceled→queued": true,
	}
	all := []Status{StatusQueued, StatusActive, StatusRetrying, StatusUploaded,
		StatusCompleted, StatusFailed, StatusCanceled}
	s, rdb := newStore(t, Options{Retention: time.Hour})
	for _, from := range all {
		for _, to := range append(all, "bogus") {
			name := string(from) + "→" + string(to)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				j := setupIn(t, s, from)
				before := readStored(t, rdb, j.ID)
				got, err := s.Transition(ctx, j.ID, to, "why", func(j *Job) error {
					j.Attempts = 9
					return nil
				})
				if !legal[name] {
					if !errors.Is(err, ErrIllegalTransition) {
						t.Fatalf("err = %v, want ErrIllegalTransition", err)
					}
					var te *TransitionError
					if !errors.As(err, &te) || te.From != from || te.To != to || te.ID != j.ID {
						t.Errorf("TransitionError = %+v", te)
					}
					if after := readStored(t, rdb, j.ID); !reflect.DeepEqual(after, before) {
						t.Errorf("an illegal transition changed the record:\n%+v\n%+v", before, after)
					}
					return
				}
				if err != nil {
					t.Fatalf("legal transition: %v", err)
				}
				if got.Status != to || got.Attempts != 9 || !got.UpdatedAt.After(j.UpdatedAt) {
					t.Errorf("after: status %q attempts %d updated %v (before %v)", got.Status, got.Attempts, got.UpdatedAt, j.UpdatedAt)
				}
				last := got.Events[len(got.Events)-1]
				if len(got.Events) != len(j.Events)+1 || last.State != to || last.Message != "why" || !last.Time.Equal(got.UpdatedAt) {
					t.Errorf("events = %+v", got.Events)
				}
				checkConsistent(t, rdb, got)
				if after := readStored(t, rdb, j.ID); fmt.Sprint(versionWrites(after.v)) != fmt.Sprint(len(j.Events)+1) {
					t.Errorf("version %s after %d writes", after.v, len(j.Events)+1)
				}
				ttl := rdb.TTL(ctx, jobKey(j.ID)).Val()
				if to.Final() != (ttl > 0) {
					t.Errorf("TTL = %v for a %s job", ttl, to)
				}
			})
		}
	}
}

func TestTransitionUnknownJob(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	if _, err := s.Transition(t.Context(), "nope", StatusActive, "", nil); !errors.Is(err, ErrNotFound) {
		t.Errorf("err = %v, want ErrNotFound", err)
	}
	if _, err := s.Update(t.Context(), "nope", func(*Job) error { return nil }); !errors.Is(err, ErrNotFound) {
		t.Errorf("Update: err = %v, want ErrNotFound", err)
	}
}

func TestMutateErrorsChangeNothing(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	j := mustCreate(t, s, nil)
	before := readStored(t, rdb, j.ID)
	boom := errors.New("boom")
	cases := map[string]func() error{
		"Transition mutate error": func() error {
			_, err := s.Transition(ctx, j.ID, StatusActive, "", func(*Job) error { return boom })
			return err
		},
		"Update mutate error": func() error {
			_, err := s.Update(ctx, j.ID, func(j *Job) error { j.Attempts = 5; return boom })
			return err
		},
		"Update changes status": func() error {
			_, err := s.Update(ctx, j.ID, func(j *Job) error { j.Status = StatusCompleted; return nil })
			return err
		},
		"Transition mutate changes status": func() error {
			_, err := s.Transition(ctx, j.ID, StatusActive, "", func(j *Job) error { j.Status = StatusFailed; return nil })
			return err
		},
		"Update changes id": func() error {
			_, err := s.Update(ctx, j.ID, func(j *Job) error { j.ID = "other"; return nil })
			return err
		},
		"Update changes idempotency key": func() error {
			_, err := s.Update(ctx, j.ID, func(j *Job) error { j.IdempotencyKey = "k"; return nil })
			return err
		},
	}
	for name, run := range cases {
		err := run()
		if err == nil {
			t.Errorf("%s: no error", name)
		}
		if name == "Transition mutate error" || name == "Update mutate error" {
			if !errors.Is(err, boom) {
				t.Errorf("%s: err = %v, want mutate's error", name, err)
			}
		}
		if after := readStored(t, rdb, j.ID); !reflect.DeepEqual(after, before) {
			t.Errorf("%s changed the record", name)
		}
	}
}

func TestUpdateWithoutChangeWritesNothing(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	j := mustCreate(t, s, &Job{Extensions: map[string]string{"remove-bg": "success"}})
	got, err := s.Update(t.Context(), j.ID, func(j *Job) error {
		j.Extensions["remove-bg"] = "success" // a duplicate webhook
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !got.UpdatedAt.Equal(j.UpdatedAt) || readStored(t, rdb, j.ID).v != "1" {
		t.Errorf("a no-op Update wrote: updated %v (was %v), v %s", got.UpdatedAt, j.UpdatedAt, readStored(t, rdb, j.ID).v)
	}
}

func TestConcurrentUpdates(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	j := mustCreate(t, s, nil)
	const n = 20
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Update(ctx, j.ID, func(j *Job) error {
				if j.Extensions == nil {
					j.Extensions = map[string]string{}
				}
				j.Extensions[fmt.Sprintf("ext-%02d", i)] = "pending"
				return nil
			})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	got, err := s.Get(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Extensions) != n {
		t.Errorf("%d extensions, want %d: %v", len(got.Extensions), n, got.Extensions)
	}
	if v := readStored(t, rdb, j.ID).v; fmt.Sprint(versionWrites(v)) != fmt.Sprint(n+1) {
		t.Errorf("version %s, want %d", v, n+1)
	}
	checkConsistent(t, rdb, got)
}

func TestConcurrentTransitionsOneWins(t *testing.T) {
	t.Parallel()
	// A worker recording the upload and the producer canceling race on an active
	// job: each move makes the other illegal, so exactly one wins.
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	for range 10 {
		j := setupIn(t, s, StatusActive)
		var wg sync.WaitGroup
		errs := map[Status]error{}
		var mu sync.Mutex
		for _, to := range []Status{StatusUploaded, StatusCanceled} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := s.Transition(ctx, j.ID, to, "", nil)
				mu.Lock()
				errs[to] = err
				mu.Unlock()
			}()
		}
		wg.Wait()
		got, err := s.Get(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		winner, loser := StatusUploaded, StatusCanceled
		if errs[StatusUploaded] != nil {
			winner, loser = loser, winner
		}
		if errs[winner] != nil || !errors.Is(errs[loser], ErrIllegalTransition) || got.Status != winner {
			t.Errorf("status %s; uploaded: %v, canceled: %v", got.Status, errs[StatusUploaded], errs[StatusCanceled])
		}
		checkConsistent(t, rdb, got)
	}
}

func TestEventsCapped(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{MaxEvents: 5})
	ctx := t.Context()
	j := mustCreate(t, s, nil)
	for i := range 10 {
		var err error
		j, err = s.Transition(ctx, j.ID, StatusActive, fmt.Sprintf("attempt %d", i+1), nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	j = mustTransition(t, s, j.ID, StatusCompleted)
	var got []string
	for _, e := range j.Events {
		got = append(got, string(e.State)+":"+e.Message)
	}
	want := []string{"queued:accepted", "active:attempt 8", "active:attempt 9", "active:attempt 10", "completed:to completed"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events = %q\nwant %q", got, want)
	}
	for i := 1; i < len(j.Events); i++ {
		if !j.Events[i].Time.After(j.Events[i-1].Time) {
			t.Errorf("event %d not after event %d", i, i-1)
		}
	}
}

func TestRetention(t *testing.T) {
	t.Parallel()
	const retention = time.Hour
	s, rdb := newStore(t, Options{Retention: retention})
	ctx := t.Context()
	j := mustCreate(t, s, &Job{IdempotencyKey: "keep-with-job"})
	if err := setFileID(ctx, s, j.ID, "file-1"); err != nil {
		t.Fatal(err)
	}
	// The job and its idempotency key expire together; the file's lookup, in
	// another shard, lives minByFileTTL from when the job took the file.
	keys := []string{jobKey(j.ID), idemKey("keep-with-job")}
	ttls := func() []time.Duration {
		var d []time.Duration
		for _, k := range keys {
			d = append(d, rdb.TTL(ctx, k).Val())
		}
		return d
	}
	for i, ttl := range ttls() {
		if ttl != -1 {
			t.Errorf("%s: TTL %v on a queued job, want -1 (none)", keys[i], ttl)
		}
	}
	if ttl := rdb.TTL(ctx, byFileKey("file-1")).Val(); ttl < minByFileTTL-time.Minute || ttl > minByFileTTL {
		t.Errorf("byfile key: TTL %v, want %v", ttl, minByFileTTL)
	}

	mustTransition(t, s, j.ID, StatusFailed)
	for i, ttl := range ttls() {
		if ttl < time.Second || ttl > retention {
			t.Errorf("%s: TTL %v after failing, want in [1s, %v]", keys[i], ttl, retention)
		}
	}
	// An Update of a finished job keeps it expiring.
	if _, err := s.Update(ctx, j.ID, func(j *Job) error { j.Callback = &Callback{Status: "delivered"}; return nil }); err != nil {
		t.Fatal(err)
	}
	for i, ttl := range ttls() {
		if ttl < time.Second || ttl > retention {
			t.Errorf("%s: TTL %v after Update of a failed job", keys[i], ttl)
		}
	}

	mustTransition(t, s, j.ID, StatusQueued) // the producer retries it
	for i, ttl := range ttls() {
		if ttl != -1 {
			t.Errorf("%s: TTL %v after failed→queued, want -1 (PERSIST)", keys[i], ttl)
		}
	}
}

func TestRetentionNegativeKeepsForever(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{Retention: -1})
	j := mustCreate(t, s, nil)
	mustTransition(t, s, j.ID, StatusCanceled)
	if ttl := rdb.TTL(t.Context(), jobKey(j.ID)).Val(); ttl != -1 {
		t.Errorf("TTL = %v, want -1", ttl)
	}
}

func TestDelete(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	keep := mustCreate(t, s, &Job{IdempotencyKey: "other"})
	j := mustCreate(t, s, &Job{IdempotencyKey: "undo-me"})
	if err := setFileID(ctx, s, j.ID, "f-del"); err != nil {
		t.Fatal(err)
	}
	mustTransition(t, s, j.ID, StatusActive)

	if err := s.Delete(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after Delete: %v", err)
	}
	if st := readStored(t, rdb, j.ID); len(st.indexes) != 0 {
		t.Errorf("still indexed in %v", st.indexes)
	}
	for _, k := range []string{idemKey("undo-me"), byFileKey("f-del")} {
		if rdb.Exists(ctx, k).Val() != 0 {
			t.Errorf("%s survived Delete", k)
		}
	}
	if _, err := s.JobForFile(ctx, "f-del"); !errors.Is(err, ErrNotFound) {
		t.Errorf("JobForFile after Delete: %v", err)
	}
	// The idempotency key is free again; the other job is untouched.
	if _, existed, err := s.Create(ctx, &Job{IdempotencyKey: "undo-me"}, nil); err != nil || existed {
		t.Errorf("Create with the deleted job's key: existed %v err %v", existed, err)
	}
	if got, err := s.Get(ctx, keep.ID); err != nil || got.ID != keep.ID {
		t.Errorf("other job: %v", err)
	}
	if err := s.Delete(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Delete: %v, want ErrNotFound", err)
	}
}

func TestDeleteCorruptRecord(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	rdb.HSet(ctx, jobKey("bad"), "doc", "{not json", "status", "queued")
	rdb.ZAdd(ctx, statusKey(shardOf("bad"), StatusQueued), redis.Z{Member: "bad"})
	if _, err := s.Get(ctx, "bad"); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Get: %v, want ErrCorrupt", err)
	}
	if err := s.Delete(ctx, "bad"); err != nil {
		t.Fatal(err)
	}
	if rdb.Exists(ctx, jobKey("bad")).Val() != 0 || indexed(t, rdb, "") != 0 {
		t.Error("corrupt record survived Delete")
	}
}

func TestFileID(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{Retention: time.Hour})
	ctx := t.Context()
	j := mustCreate(t, s, nil)
	if _, err := s.JobForFile(ctx, "f1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("JobForFile before setting its fileId: %v", err)
	}
	if err := setFileID(ctx, s, j.ID, "f1"); err != nil {
		t.Fatal(err)
	}
	if id, err := s.JobForFile(ctx, "f1"); err != nil || id != j.ID {
		t.Errorf("JobForFile = %q, %v; want %q", id, err, j.ID)
	}
	if got, _ := s.Get(ctx, j.ID); got.FileID != "f1" {
		t.Errorf("FileID = %q", got.FileID)
	}
	// A new fileId replaces the old mapping.
	if err := setFileID(ctx, s, j.ID, "f2"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.JobForFile(ctx, "f1"); !errors.Is(err, ErrNotFound) {
		t.Errorf("old fileId still maps: %v", err)
	}
	// The newest job wins a shared fileId; the older one no longer controls its key.
	k := mustCreate(t, s, nil)
	if err := setFileID(ctx, s, k.ID, "f2"); err != nil {
		t.Fatal(err)
	}
	if id, _ := s.JobForFile(ctx, "f2"); id != k.ID {
		t.Errorf("JobForFile(f2) = %q, want the newer job %q", id, k.ID)
	}
	mustTransition(t, s, j.ID, StatusCanceled)
	if id, _ := s.JobForFile(ctx, "f2"); id != k.ID {
		t.Errorf("after the older job's cancel, JobForFile(f2) = %q, want %q", id, k.ID)
	}
	if err := setFileID(ctx, s, "missing", "f3"); !errors.Is(err, ErrNotFound) {
		t.Errorf("setting the fileId of a missing job: %v", err)
	}
	if _, err := s.JobForFile(ctx, ""); !errors.Is(err, ErrNotFound) {
		t.Errorf("JobForFile(\"\"): %v", err)
	}
}

func TestGetCorrupt(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := context.Background()
	cases := map[string][]any{
		"not json":       {"doc", "{", "v", 1, "status", "queued"},
		"other id":       {"doc", `{"id":"else","status":"queued"}`, "v", 1, "status", "queued"},
		"status differs": {"doc", `{"id":"%s","status":"active"}`, "v", 1, "status", "queued"},
		"unknown status": {"doc", `{"id":"%s","status":"lost"}`, "v", 1, "status", "lost"},
		"no doc":         {"v", 1, "status", "queued"},
		"no version":     {"doc", `{"id":"%s","status":"queued"}`, "status", "queued"},
	}
	for name, fields := range cases {
		id := strings.ReplaceAll(name, " ", "-")
		for i, f := range fields {
			if s, ok := f.(string); ok && strings.Contains(s, "%s") {
				fields[i] = fmt.Sprintf(s, id)
			}
		}
		rdb.HSet(ctx, jobKey(id), fields...)
		if _, err := s.Get(ctx, id); !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: Get err = %v, want ErrCorrupt", name, err)
		}
	}
}

func TestCanTransitionAndFinal(t *testing.T) {
	t.Parallel()
	final := map[Status]bool{StatusCompleted: true, StatusFailed: true, StatusCanceled: true}
	for _, st := range statuses {
		if st.Final() != final[st] {
			t.Errorf("%s.Final() = %v", st, st.Final())
		}
		if !st.Valid() {
			t.Errorf("%s.Valid() = false", st)
		}
	}
	if Status("bogus").Valid() || Status("").Valid() {
		t.Error("unknown statuses are valid")
	}
	if CanTransition(StatusCompleted, StatusQueued) || !CanTransition(StatusFailed, StatusQueued) {
		t.Error("CanTransition disagrees with the table")
	}
}

func TestNewID(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	for i := range 1000 {
		id := NewID(at.Add(time.Duration(i) * time.Millisecond))
		if len(id) != 26 || id <= prev {
			t.Fatalf("id %d = %q after %q: want 26 characters, increasing", i, id, prev)
		}
		prev = id
	}
	if a, b := NewID(at.Add(time.Hour)), NewID(at); a <= b {
		t.Errorf("NewID(earlier) = %s sorts after %s", b, a)
	}
}

func TestSpecStoredBesideTheRecord(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := context.Background()
	spec := json.RawMessage(`{"file":"https://user:secret@example.com/a.jpg","fileName":"a.jpg"}`)
	j, _, err := s.Create(ctx, &Job{Queue: "default", Request: json.RawMessage(`{"fileName":"a.jpg"}`)}, spec)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.Spec(ctx, j.ID)
	if err != nil || string(got) != string(spec) {
		t.Fatalf("Spec = %s, %v; want %s", got, err, spec)
	}
	rec, _ := s.Get(ctx, j.ID)
	b, _ := json.Marshal(rec)
	if strings.Contains(string(b), "secret") {
		t.Fatalf("the record shows the spec's secret: %s", b)
	}
	// The spec follows its job: gone when the job is deleted.
	if err := s.Delete(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Spec(ctx, j.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Spec after Delete: %v, want ErrNotFound", err)
	}
}

// setFileID records fileID on the job, as the worker does with the upload's answer.
func setFileID(ctx context.Context, s *Store, id, fileID string) error {
	_, err := s.Update(ctx, id, func(j *Job) error {
		j.FileID = fileID
		return nil
	})
	return err
}
