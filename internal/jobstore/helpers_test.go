package jobstore

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestMain stops the package's private redis-server when the tests end.
func TestMain(m *testing.M) { redistest.Main(m) }

// fakeClock moves one millisecond forward every time it is read, so that times and
// ids are distinct and ordered without sleeping.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

// newStore gives the test a Store on its own Redis database, and a client on it.
func newStore(t testing.TB, opts Options) (*Store, *redis.Client) {
	t.Helper()
	rdb := redistest.New(t).Client(t)
	if opts.Now == nil {
		opts.Now = newClock().Now
	}
	return New(rdb, opts), rdb
}

func mustCreate(t testing.TB, s *Store, j *Job) *Job {
	t.Helper()
	if j == nil {
		j = &Job{Queue: "default", MaxAttempts: 3, Request: json.RawMessage(`{"file":"https://example.com/a.jpg","fileName":"a.jpg"}`)}
	}
	got, existed, err := s.Create(context.Background(), j, nil)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if existed {
		t.Fatalf("Create: existed = true for a new job")
	}
	return got
}

func mustTransition(t testing.TB, s *Store, id string, to Status) *Job {
	t.Helper()
	j, err := s.Transition(context.Background(), id, to, "to "+string(to), nil)
	if err != nil {
		t.Fatalf("Transition %s to %s: %v", id, to, err)
	}
	return j
}

// stored is a job hash as Redis holds it.
type stored struct {
	doc, v, status string
	indexes        []string // the indexes that hold the id
}

func readStored(t testing.TB, rdb *redis.Client, id string) stored {
	t.Helper()
	ctx := context.Background()
	m, err := rdb.HGetAll(ctx, jobKey(id)).Result()
	if err != nil {
		t.Fatal(err)
	}
	st := stored{doc: m["doc"], v: m["v"], status: m["status"]}
	for _, key := range statusKeys(shardOf(id)) {
		if err := rdb.ZScore(ctx, key, id).Err(); err == nil {
			st.indexes = append(st.indexes, key)
		} else if !errors.Is(err, redis.Nil) {
			t.Fatal(err)
		}
	}
	return st
}

// checkConsistent asserts the stored status, the doc and the indexes agree with j.
func checkConsistent(t testing.TB, rdb *redis.Client, j *Job) {
	t.Helper()
	st := readStored(t, rdb, j.ID)
	if st.status != string(j.Status) {
		t.Errorf("job %s: status field %q, Job.Status %q", j.ID, st.status, j.Status)
	}
	var doc Job
	raw, err := expandDoc([]byte(st.doc))
	if err != nil {
		t.Fatalf("job %s: stored doc: %v", j.ID, err)
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("job %s: stored doc: %v", j.ID, err)
	}
	if doc.Status != j.Status {
		t.Errorf("job %s: doc status %q, Job.Status %q", j.ID, doc.Status, j.Status)
	}
	want := statusKey(shardOf(j.ID), j.Status)
	if len(st.indexes) != 1 || st.indexes[0] != want {
		t.Errorf("job %s in indexes %v, want [%s]", j.ID, st.indexes, want)
	}
}

// indexed is how many entries the status indexes of every shard hold: of status st,
// or of all statuses when st is "".
func indexed(t testing.TB, rdb *redis.Client, st Status) int64 {
	t.Helper()
	var n int64
	for shard := range Shards {
		for _, s := range statuses {
			if st == "" || s == st {
				c, err := rdb.ZCard(context.Background(), statusKey(shard, s)).Result()
				if err != nil {
					t.Fatal(err)
				}
				n += c
			}
		}
	}
	return n
}
