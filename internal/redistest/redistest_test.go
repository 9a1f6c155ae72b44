package redistest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

func TestMain(m *testing.M) { Main(m) }

func needServer(t *testing.T) string {
	t.Helper()
	path, err := redisproc.LookPath()
	if err != nil {
		t.Skip("redis-server is not on PATH")
	}
	return path
}

// dbKey names a database across sources: an embedded Redis has its own address.
func dbKey(r *Redis) string { return fmt.Sprintf("%s/%d", r.Addr, r.DB) }

func TestNewIsolatesParallelTests(t *testing.T) {
	t.Parallel()
	var (
		mu   sync.Mutex
		seen = map[string]string{}
	)
	t.Run("group", func(t *testing.T) {
		for i := range 4 {
			name := fmt.Sprintf("t%d", i)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				r := New(t)
				c := r.Client(t)
				ctx := t.Context()
				if keys := c.Keys(ctx, "*").Val(); len(keys) > 1 || len(keys) == 1 && keys[0] != LeaseKey {
					t.Errorf("a new database has keys %q, want none but the lease", keys)
				}
				if err := c.Set(ctx, "owner", name, 0).Err(); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond) // overlap with the others where CPUs allow
				if got := c.Get(ctx, "owner").Val(); got != name {
					t.Errorf("owner = %q, want %q: another test wrote to this database", got, name)
				}
				mu.Lock()
				defer mu.Unlock()
				if other, dup := seen[dbKey(r)]; dup {
					t.Errorf("%s and %s share database %s", name, other, dbKey(r))
				}
				seen[dbKey(r)] = name
			})
		}
	})
	if len(seen) != 4 {
		t.Errorf("got %d distinct databases for 4 tests", len(seen))
	}
}

func TestNewTwiceInOneTest(t *testing.T) {
	t.Parallel()
	a, b := New(t), New(t)
	if dbKey(a) == dbKey(b) {
		t.Fatalf("both got %s", dbKey(a))
	}
	ctx := t.Context()
	if err := a.Client(t).Set(ctx, "k", "a", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := b.Client(t).Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k in the other database: err = %v, want redis.Nil", err)
	}
}

func TestPrivateServerIsReusedAndFlushed(t *testing.T) {
	t.Parallel()
	path := needServer(t)
	var first *Redis
	t.Run("first", func(t *testing.T) {
		first = newRedis(t, source{serverPath: path})
		if first.Embedded {
			t.Fatal("Embedded with redis-server on PATH")
		}
		if err := first.Client(t).Set(t.Context(), "left", "over", 0).Err(); err != nil {
			t.Fatal(err)
		}
	})
	second := newRedis(t, source{serverPath: path})
	if second.Addr != first.Addr {
		t.Errorf("second test got server %s, first %s: want one server per binary", second.Addr, first.Addr)
	}
	if second.DB == first.DB {
		t.Errorf("both tests got DB %d", first.DB)
	}
	// The first test's DB was flushed at its cleanup.
	c := redis.NewClient(first.Options())
	defer func() { _ = c.Close() }()
	if n := c.DBSize(t.Context()).Val(); n != 0 {
		t.Errorf("DB %d has %d keys after its test ended, want 0", first.DB, n)
	}
	if err := second.Client(t).Ping(t.Context()).Err(); err != nil {
		t.Errorf("PING: %v", err)
	}
}

func TestDBPoolReusesOnlyWhenExhausted(t *testing.T) {
	t.Parallel()
	p := &dbPool{max: 2}
	a, _ := p.take()
	b, _ := p.take()
	if a != 0 || b != 1 {
		t.Fatalf("first indexes = %d, %d; want 0, 1", a, b)
	}
	p.put(a)
	if c, ok := p.take(); !ok || c != a {
		t.Errorf("after exhaustion take() = %d, %v; want the released %d", c, ok, a)
	}
	if _, ok := p.take(); ok {
		t.Error("take() succeeded with every index in use")
	}
}

// TestRedisURL is not parallel: it sets REDIS_URL.
func TestRedisURL(t *testing.T) {
	srv := NewServer(t)
	base := srv.Redis()
	base.DB = 2 // the URL's own DB is never leased
	t.Setenv("REDIS_URL", base.URL())

	ctx := t.Context()
	admin := func(db int) *redis.Client {
		o := srv.Redis().Options()
		o.DB = db
		c := redis.NewClient(o)
		t.Cleanup(func() { _ = c.Close() })
		return c
	}
	// Junk left by a crashed run in DBs 1..15 must be gone once leased.
	for db := 1; db < 16; db++ {
		if err := admin(db).Set(ctx, "junk", "x", 0).Err(); err != nil {
			t.Fatal(err)
		}
	}

	var leased []*Redis
	t.Run("lease", func(t *testing.T) {
		dbs := map[int]bool{}
		for range 5 {
			r := New(t)
			leased = append(leased, r)
			if r.Embedded || r.Addr != srv.Addr {
				t.Fatalf("got %+v, want a database of REDIS_URL's server %s", r, srv.Addr)
			}
			if r.DB == 0 || r.DB == 2 || dbs[r.DB] {
				t.Errorf("leased DB %d; taken so far %v (0 and 2 are not leasable)", r.DB, dbs)
			}
			dbs[r.DB] = true
			c := r.Client(t)
			if c.Exists(ctx, "junk").Val() != 0 {
				t.Errorf("DB %d was not flushed when leased", r.DB)
			}
			if c.Exists(ctx, LeaseKey).Val() != 1 {
				t.Errorf("DB %d has no lease key", r.DB)
			}
			if ttl := c.PTTL(ctx, LeaseKey).Val(); ttl <= 0 || ttl > leaseTTL {
				t.Errorf("lease TTL = %v, want in (0, %v]", ttl, leaseTTL)
			}
			if err := c.Set(ctx, "mine", r.DB, 0).Err(); err != nil {
				t.Fatal(err)
			}
		}
	})
	for _, r := range leased {
		c := admin(r.DB)
		if n := c.DBSize(ctx).Val(); n != 0 {
			t.Errorf("DB %d keeps %d keys after release, want 0 (lease and data gone)", r.DB, n)
		}
	}
	if admin(2).Exists(ctx, "junk").Val() != 1 {
		t.Error("the URL's own DB 2 was touched")
	}
}

func TestLeaseWaitsForAFreeDB(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	ctx := t.Context()
	c := redis.NewClient(srv.Redis().Options())
	defer func() { _ = c.Close() }()
	holders := map[int]*redis.Client{}
	for _, db := range []int{1, 2} {
		o := srv.Redis().Options()
		o.DB = db
		holders[db] = redis.NewClient(o)
		defer func() { _ = holders[db].Close() }()
		if err := holders[db].Set(ctx, LeaseKey, "someone else", time.Minute).Err(); err != nil {
			t.Fatal(err)
		}
	}
	go func() {
		time.Sleep(300 * time.Millisecond)
		holders[2].Del(context.Background(), LeaseKey)
	}()
	conn := c.Conn()
	defer func() { _ = conn.Close() }()
	waited := false
	db, err := lease(ctx, conn, []int{1, 2}, "me", func() { waited = true })
	if err != nil {
		t.Fatal(err)
	}
	if db != 2 || !waited {
		t.Errorf("lease = DB %d, waited %v; want DB 2 after waiting", db, waited)
	}
	if got := holders[2].Get(ctx, LeaseKey).Val(); got != "me" {
		t.Errorf("lease key = %q, want %q", got, "me")
	}

	short, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	if _, err := lease(short, conn, []int{1, 2}, "late", nil); err == nil {
		t.Error("lease with every DB taken returned no error when its context ended")
	}
}

func TestServerStopStart(t *testing.T) {
	t.Parallel()
	srv := NewServer(t)
	r := srv.Redis()
	if r.DB != 0 || r.Addr != srv.Addr {
		t.Fatalf("Redis() = %+v", r)
	}
	o := r.Options()
	o.MaxRetries = -1
	c := redis.NewClient(o)
	defer func() { _ = c.Close() }()
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}

	srv.Stop(t)
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("PING succeeded while the server was stopped")
	}

	srv.Start(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after Start: %v", err)
	}
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET k after restart: %v, want redis.Nil (no persistence)", err)
	}
	// A second cycle works too.
	srv.Stop(t)
	srv.Start(t)
	if err := c.Ping(ctx).Err(); err != nil {
		t.Fatalf("PING after the second Start: %v", err)
	}
}

func TestEmbedded(t *testing.T) {
	t.Parallel()
	r := newRedis(t, source{embedded: true, serverPath: "/usr/bin/redis-server", url: "redis://127.0.0.1:1/0"})
	if !r.Embedded || r.Miniredis() == nil {
		t.Fatalf("got %+v, want an embedded Redis", r)
	}
	c := r.Client(t)
	ctx := t.Context()
	if err := c.Set(ctx, "k", "v", time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	r.Miniredis().FastForward(2 * time.Minute)
	if err := c.Get(ctx, "k").Err(); !errors.Is(err, redis.Nil) {
		t.Errorf("GET after FastForward: %v, want redis.Nil", err)
	}
	insp := asynq.NewInspector(r.AsynqOpt())
	defer func() { _ = insp.Close() }()
	if _, err := insp.Queues(); err != nil {
		t.Errorf("asynq Inspector on the embedded Redis: %v", err)
	}
}

func TestAsynqOptConnects(t *testing.T) {
	t.Parallel()
	r := New(t)
	client := asynq.NewClient(r.AsynqOpt())
	defer func() { _ = client.Close() }()
	if _, err := client.Enqueue(asynq.NewTask("test:noop", nil)); err != nil {
		t.Fatal(err)
	}
	insp := asynq.NewInspector(r.AsynqOpt())
	defer func() { _ = insp.Close() }()
	info, err := insp.GetQueueInfo("default")
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != 1 {
		t.Errorf("pending = %d, want 1", info.Pending)
	}
}

func TestURLAndOptions(t *testing.T) {
	t.Parallel()
	r := &Redis{Addr: "127.0.0.1:6390", DB: 7, Password: "p@ss word"}
	want := "redis://:p%40ss%20word@127.0.0.1:6390/7"
	if got := r.URL(); got != want {
		t.Errorf("URL() = %q, want %q", got, want)
	}
	o, err := redis.ParseURL(r.URL())
	if err != nil {
		t.Fatal(err)
	}
	if o.Addr != r.Addr || o.DB != r.DB || o.Password != r.Password {
		t.Errorf("URL round trip: %s db %d pw %q", o.Addr, o.DB, o.Password)
	}
	if got := (&Redis{Addr: "h:1"}).URL(); got != "redis://h:1/0" {
		t.Errorf("URL() without password = %q", got)
	}
	opts := r.Options()
	if opts.Addr != r.Addr || opts.DB != 7 || opts.Password != r.Password {
		t.Errorf("Options() = %+v", opts)
	}
	a := r.AsynqOpt()
	if a.Addr != r.Addr || a.DB != 7 || a.Password != r.Password {
		t.Errorf("AsynqOpt() = %+v", a)
	}
}
