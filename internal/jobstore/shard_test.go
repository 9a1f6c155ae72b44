package jobstore

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/tasks"
	"github.com/oklog/ulid/v2"
)

// crc16 is Redis Cluster's key hash (CRC-16/XMODEM).
func crc16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc ^= uint16(c) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

func slotOf(tag string) int { return int(crc16([]byte(tag)) % 16384) }

// TestShardTagSlots: each shard's tag lands in the middle of its 32nd of the slots,
// so that splitting the slots into equal contiguous ranges, for any number of
// masters, gives each master its share of shards, give or take one.
func TestShardTagSlots(t *testing.T) {
	t.Parallel()
	for s, tag := range shardTags {
		if got, want := slotOf(tag), 512*s+256; got != want {
			t.Errorf("shard %d: tag %q is in slot %d, want %d", s, tag, got, want)
		}
		if !strings.HasPrefix(tag, fmt.Sprintf("%02d", s)) {
			t.Errorf("shard %d: tag %q does not start with its number", s, tag)
		}
	}
	for masters := 1; masters <= 16; masters++ {
		counts := make([]int, masters)
		for _, tag := range shardTags {
			// redis-cli --cluster create gives master i the slots from i·16384/n.
			slot := slotOf(tag)
			for m := masters - 1; m >= 0; m-- {
				if slot >= m*16384/masters {
					counts[m]++
					break
				}
			}
		}
		lo, hi := Shards/masters, (Shards+masters-1)/masters
		for m, c := range counts {
			if c < lo || c > hi {
				t.Errorf("%d masters: master %d holds %d shards, want %d to %d (%v)", masters, m, c, lo, hi, counts)
			}
		}
	}
}

// TestIDsCarryShards: an id names its shard in its last character, ids made in one
// millisecond keep their order, and NewID spreads jobs evenly.
func TestIDsCarryShards(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC)
	prev := ""
	ids := newIDSource() // parallel tests make ids of other milliseconds with the process's
	for i := range 3200 {
		s := i % Shards
		id := ids.next(at, s) // all in one millisecond
		if got := shardOf(id); got != s {
			t.Fatalf("id %s of shard %d: shardOf = %d", id, s, got)
		}
		if len(id) != 26 || id <= prev {
			t.Fatalf("id %d = %q after %q: want 26 characters, increasing", i, id, prev)
		}
		prev = id
	}
	// A clock read a moment before the last id's still sorts after it; a chosen time
	// far back keeps its own millisecond.
	late := ids.next(at.Add(5*time.Millisecond), 0)
	if id := ids.next(at.Add(time.Millisecond), 0); id <= late {
		t.Errorf("id of a millisecond 4 ms back = %s, want after %s", id, late)
	}
	if id, want := ids.next(at.Add(-time.Hour), 0), ulid.Timestamp(at.Add(-time.Hour)); ulid.MustParse(id).Time() != want {
		t.Errorf("id of an hour back = %s, want its own millisecond %d", id, want)
	}
	const n = 32000
	counts := make([]int, Shards)
	for range n {
		counts[shardOf(NewID(at))]++
	}
	for s, c := range counts {
		if c < n/Shards*8/10 || c > n/Shards*12/10 {
			t.Errorf("NewID: shard %d got %d of %d ids (%v)", s, c, n, counts)
		}
	}
	// Ids given by the caller and other strings are hashed, as evenly.
	clear(counts)
	for i := range n {
		counts[shardOf(fmt.Sprintf("job-%d", i))]++
	}
	for s, c := range counts {
		if c < n/Shards*8/10 || c > n/Shards*12/10 {
			t.Errorf("hashed ids: shard %d got %d of %d (%v)", s, c, n, counts)
		}
	}
}

// TestIdempotentJobsShareTheKeysShard: a job with an idempotency key is made in the
// key's shard, so one script checks the key and creates the job; a given id of
// another shard is refused.
func TestIdempotentJobsShareTheKeysShard(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	used := map[int]bool{}
	for i := range 100 {
		key := fmt.Sprintf("order-%d", i)
		j := mustCreate(t, s, &Job{IdempotencyKey: key})
		if shardOf(j.ID) != shardOfString(key) {
			t.Fatalf("job %s of key %q is in shard %d, the key in %d", j.ID, key, shardOf(j.ID), shardOfString(key))
		}
		if got := rdb.Get(ctx, idemKey(key)).Val(); got != j.ID {
			t.Fatalf("key %q names %q, want %q", key, got, j.ID)
		}
		used[shardOf(j.ID)] = true
	}
	if len(used) < Shards/2 {
		t.Errorf("100 keys used %d shards", len(used))
	}
	other := (shardOfString("order-x") + 1) % Shards
	_, _, err := s.Create(ctx, &Job{ID: newID(time.Now(), other), IdempotencyKey: "order-x"}, nil)
	if err == nil || !strings.Contains(err.Error(), "shard") {
		t.Errorf("a given id of another shard than its key's: %v", err)
	}
}

// TestIdempotencyAcrossShards: many keys, each raced by several writers, spread over
// the shards: one job per key, every writer gets it.
func TestIdempotencyAcrossShards(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	const keys, writers = 64, 6
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		got  = map[string]map[string]int{} // key → job id → answers
		made = map[string]int{}
	)
	for k := range keys {
		for range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				key := fmt.Sprintf("k-%d", k)
				j, existed, err := s.Create(ctx, &Job{IdempotencyKey: key, Queue: "default"}, nil)
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if got[key] == nil {
					got[key] = map[string]int{}
				}
				got[key][j.ID]++
				if !existed {
					made[key]++
				}
			}()
		}
	}
	wg.Wait()
	for k := range keys {
		key := fmt.Sprintf("k-%d", k)
		if len(got[key]) != 1 || made[key] != 1 {
			t.Errorf("key %s: ids %v, made %d; want one job made once", key, got[key], made[key])
		}
	}
	if n := indexed(t, rdb, ""); n != keys {
		t.Errorf("indexes hold %d jobs, want %d", n, keys)
	}
}

// TestListAcrossShardsUnderInserts: paging through every job while others are added
// lists each job that existed before the listing began exactly once, never repeats a
// job, and keeps the order.
func TestListAcrossShardsUnderInserts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{Now: time.Now})
	ctx := t.Context()
	before := map[string]bool{}
	for range 300 {
		before[mustCreate(t, s, nil).ID] = true
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, _, err := s.Create(ctx, &Job{Queue: "default"}, nil); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for _, status := range []Status{"", StatusQueued} {
		seen := map[string]bool{}
		var order []string
		cursor := ""
		for pages := 0; ; pages++ {
			jobs, next, err := s.List(ctx, ListOptions{Status: status, Limit: 17, Cursor: cursor})
			if err != nil {
				t.Fatal(err)
			}
			for _, j := range jobs {
				if seen[j.ID] {
					t.Fatalf("status %q: job %s listed twice", status, j.ID)
				}
				seen[j.ID] = true
				order = append(order, j.ID)
			}
			if next == "" {
				break
			}
			if pages > 1000 {
				t.Fatal("the cursor does not advance")
			}
			cursor = next
		}
		for id := range before {
			if !seen[id] {
				t.Errorf("status %q: job %s, there before the listing, was not listed", status, id)
			}
		}
		if !slices.IsSortedFunc(order, func(a, b string) int { return strings.Compare(b, a) }) {
			t.Errorf("status %q: not newest first", status)
		}
	}
	close(stop)
	wg.Wait()
}

// TestCountsAcrossShards: counts sum the shards.
func TestCountsAcrossShards(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	want := map[Status]int64{}
	for i := range 96 {
		st := statuses[i%len(statuses)]
		setupIn(t, s, st)
		want[st]++
	}
	got, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Counts = %v, want %v", got, want)
	}
}

// TestFileLookupsLiveInTheFilesShard: JobForFile finds a job from the file id alone,
// whatever the job's shard; the key is written in the file's shard.
func TestFileLookupsLiveInTheFilesShard(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	for i := range 40 {
		j := setupIn(t, s, StatusActive)
		fileID := fmt.Sprintf("6673f1e7a1b2c3d4%08x", i)
		if _, err := s.Transition(ctx, j.ID, StatusCompleted, "uploaded", func(j *Job) error {
			j.FileID = fileID
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		if id, err := s.JobForFile(ctx, fileID); err != nil || id != j.ID {
			t.Fatalf("JobForFile(%s) = %q, %v; want %s", fileID, id, err, j.ID)
		}
		want := shardPrefix(shardOfString(fileID)) + "byfile:" + fileID
		if rdb.Exists(ctx, want).Val() != 1 {
			t.Errorf("no key %s", want)
		}
	}
}

// TestEachOpenAcrossShards: the sweeper's iterator yields the queued, active and retrying jobs
// not updated for longer than asked, from every shard, across pages.
func TestEachOpenAcrossShards(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); now = now.Add(time.Millisecond); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
	s, _ := newStore(t, Options{Now: clock})
	ctx := t.Context()

	want := map[string]bool{}
	for _, st := range []Status{StatusQueued, StatusActive, StatusRetrying} {
		for range 10 {
			want[setupIn(t, s, st).ID] = true
		}
	}
	// More than a page of one shard.
	for range scanPage + 20 {
		want[mustCreate(t, s, &Job{ID: newID(clock(), 7), Queue: "default"}).ID] = true
	}
	for _, st := range []Status{StatusUploaded, StatusCompleted, StatusFailed, StatusCanceled} {
		setupIn(t, s, st) // not open
	}
	touched := setupIn(t, s, StatusQueued)
	advance(10 * time.Minute)
	mustTransition(t, s, touched.ID, StatusActive) // updated just now
	mustCreate(t, s, nil)                          // new

	got := map[string]bool{}
	err := s.EachOpen(ctx, 5*time.Minute, func(j *Job) error {
		if got[j.ID] {
			t.Errorf("job %s yielded twice", j.ID)
		}
		got[j.ID] = true
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		missing, extra := 0, 0
		for id := range want {
			if !got[id] {
				missing++
			}
		}
		for id := range got {
			if !want[id] {
				extra++
			}
		}
		t.Errorf("EachOpen yielded %d jobs, want %d: %d missing, %d extra", len(got), len(want), missing, extra)
	}
	stop := errors.New("stop")
	n := 0
	if err := s.EachOpen(ctx, 5*time.Minute, func(*Job) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("EachOpen after yield's error: %v, %d calls", err, n)
	}
}

// TestRunCountsExactAcrossShards: a run's jobs spread over the shards and move
// concurrently; its counts are those of its jobs.
func TestRunCountsExactAcrossShards(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := t.Context()
	const n = 160
	ids := make([]string, n)
	for i := range n {
		ids[i] = runJob(t, s, "spread", fmt.Sprintf("file:///src/%d.png", i)).ID
	}
	paths := [][]Status{{StatusActive, StatusCompleted}, {StatusActive, StatusUploaded}, {StatusFailed},
		{StatusCanceled}, {StatusActive, StatusRetrying}, nil}
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, to := range paths[i%len(paths)] {
				if _, err := s.Transition(ctx, id, to, "", nil); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	var want RunCounts
	shards := map[int]bool{}
	for _, id := range ids {
		j, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		want.Set(j.Status, want.Of(j.Status)+1)
		shards[shardOf(id)] = true
	}
	run, err := s.GetRun(ctx, "spread", false)
	if err != nil {
		t.Fatal(err)
	}
	if run.Counts != want || run.Total != n {
		t.Errorf("run counts %+v total %d; want %+v, %d", run.Counts, run.Total, want, n)
	}
	if len(shards) < Shards/2 {
		t.Errorf("the run's jobs used %d shards", len(shards))
	}
	var listed []string
	err = s.EachRunJob(ctx, "spread", "", func(j *Job) error { listed = append(listed, j.ID); return nil })
	if err != nil || len(listed) != n || !slices.IsSorted(listed) {
		t.Errorf("EachRunJob: %d jobs, sorted %v, %v", len(listed), slices.IsSorted(listed), err)
	}
}

// TestFinishedRecordIsCompact: a finished job's doc is deflated and reads back the
// same; a completed job keeps of its spec only what is read after completion, a
// failed one all of it (a retry needs it); a finished timeline is capped.
func TestFinishedRecordIsCompact(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{FinishedEvents: 4})
	ctx := t.Context()
	spec := json.RawMessage(`{"file":"https://example.com/a.jpg","fileName":"a.jpg","callbackUrl":"https://app.example/cb?token=t","webhookUrl":"https://app.example/wh"}`)
	done, _, err := s.Create(ctx, &Job{Queue: "default", Request: json.RawMessage(`{"fileName":"a.jpg"}`)}, spec)
	if err != nil {
		t.Fatal(err)
	}
	failed, _, err := s.Create(ctx, &Job{Queue: "default"}, spec)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 6 {
		mustTransition(t, s, done.ID, StatusActive)
		if i < 5 {
			mustTransition(t, s, done.ID, StatusRetrying)
		}
	}
	final := mustTransition(t, s, done.ID, StatusCompleted)
	mustTransition(t, s, failed.ID, StatusFailed)

	doc := rdb.HGet(ctx, jobKey(done.ID), "doc").Val()
	if doc == "" || doc[0] != docDeflated {
		t.Fatalf("completed doc not deflated: %.20q", doc)
	}
	got, err := s.Get(ctx, done.ID)
	if err != nil || !reflect.DeepEqual(got, final) {
		t.Fatalf("Get of a deflated record = %+v, %v; want %+v", got, err, final)
	}
	if len(got.Events) != 4 || got.Events[0].Message != createdMessage || got.Events[3].State != StatusCompleted {
		t.Errorf("finished timeline: %+v", got.Events)
	}
	raw, _ := s.Spec(ctx, done.ID)
	var kept map[string]any
	if err := json.Unmarshal(raw, &kept); err != nil || !reflect.DeepEqual(kept, map[string]any{
		"callbackUrl": "https://app.example/cb?token=t", "webhookUrl": "https://app.example/wh"}) {
		t.Errorf("completed job's spec %s, %v", raw, err)
	}
	if raw, _ := s.Spec(ctx, failed.ID); string(raw) != string(spec) {
		t.Errorf("failed job's spec %s, want it whole", raw)
	}
	// A retried job is stored as JSON again.
	mustTransition(t, s, failed.ID, StatusQueued)
	if doc := rdb.HGet(ctx, jobKey(failed.ID), "doc").Val(); !strings.HasPrefix(doc, "{") {
		t.Errorf("retried job's doc %.20q, want JSON", doc)
	}
	// A completed job with nothing to keep has the spec {}.
	bare, _, _ := s.Create(ctx, &Job{Queue: "default"}, json.RawMessage(`{"file":"x","fileName":"y"}`))
	mustTransition(t, s, bare.ID, StatusActive)
	mustTransition(t, s, bare.ID, StatusCompleted)
	if raw, err := s.Spec(ctx, bare.ID); err != nil || string(raw) != "{}" {
		t.Errorf("bare completed job's spec %s, %v", raw, err)
	}
	if _, err := s.Spec(ctx, "01KQHPJ59XQZQ5AAMKCMB719MZ"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Spec of no job: %v", err)
	}
}

// TestSpecAfterCompletionNamesUploadFields: the fields a completed job keeps are
// the job spec's callbackUrl and webhookUrl, as tasks.Upload names them.
func TestSpecAfterCompletionNamesUploadFields(t *testing.T) {
	t.Parallel()
	b, err := json.Marshal(tasks.Upload{CallbackURL: "https://app.example/cb", WebhookURL: "https://app.example/wh"})
	if err != nil {
		t.Fatal(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(b, &fields); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{"callbackUrl": "https://app.example/cb", "webhookUrl": "https://app.example/wh"}
	for _, f := range specAfterCompletion {
		if fields[f] != want[f] {
			t.Errorf("spec field %q: tasks.Upload has %v", f, fields[f])
		}
	}
	if len(specAfterCompletion) != len(want) {
		t.Errorf("specAfterCompletion = %v", specAfterCompletion)
	}
}
