package redistest

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

const (
	// LeaseKey is the key, in each leased DB of a REDIS_URL server, that marks the DB
	// as taken. Tests see it in their DB; it is outside the store's key space.
	LeaseKey = "ikq:redistest:lease"

	leaseTTL     = 10 * time.Minute // a crashed test binary frees its DBs after this
	leaseRefresh = time.Minute      // live tests keep their lease beyond leaseTTL
	leaseWait    = 10 * time.Minute // how long New polls for a free DB before failing
	leasePoll    = 100 * time.Millisecond

	// sharedDatabases is the DB count of the private server shared by a test binary.
	sharedDatabases = 10000
)

// Redis is one isolated database: connect to Addr, SELECT DB.
type Redis struct {
	Addr     string
	DB       int
	Password string
	Embedded bool // miniredis: no real server was available

	// From REDIS_URL, kept so clients connect the way the URL says.
	network  string
	username string
	tls      *tls.Config
	mini     *miniredis.Miniredis
}

// URL is redis://[:password@]addr/db (rediss:// when REDIS_URL asked for TLS).
func (r *Redis) URL() string {
	u := url.URL{Scheme: "redis", Host: r.Addr, Path: "/" + strconv.Itoa(r.DB)}
	if r.tls != nil {
		u.Scheme = "rediss"
	}
	if r.network == "unix" {
		u = url.URL{Scheme: "unix", Path: r.Addr, RawQuery: "db=" + strconv.Itoa(r.DB)}
	}
	if r.Password != "" || r.username != "" {
		u.User = url.UserPassword(r.username, r.Password)
	}
	return u.String()
}

// Options are go-redis options for this database.
func (r *Redis) Options() *redis.Options {
	return &redis.Options{
		Network:   r.network,
		Addr:      r.Addr,
		Username:  r.username,
		Password:  r.Password,
		DB:        r.DB,
		TLSConfig: r.tls,
	}
}

// Client is a go-redis client for this database, closed at the test's cleanup.
func (r *Redis) Client(t testing.TB) *redis.Client {
	c := redis.NewClient(r.Options())
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// AsynqOpt is the same database as asynq connection options.
func (r *Redis) AsynqOpt() asynq.RedisClientOpt {
	return asynq.RedisClientOpt{
		Network:   r.network,
		Addr:      r.Addr,
		Username:  r.username,
		Password:  r.Password,
		DB:        r.DB,
		TLSConfig: r.tls,
	}
}

// Miniredis is the embedded server behind an Embedded Redis (nil otherwise), for
// FastForward and other test controls real servers lack.
func (r *Redis) Miniredis() *miniredis.Miniredis { return r.mini }

// New gives the test an isolated Redis database and flushes it. Source, in order:
//
//  1. REDIS_URL set: that server. The test leases a free DB index (1..N-1 where N is
//     CONFIG GET databases, skipping the URL's own DB) by SET LeaseKey NX PX in that
//     DB, polling until one is free; the lease is refreshed while the test runs and
//     released, with a FLUSHDB, at cleanup. Parallel tests and parallel test binaries
//     never share a DB.
//  2. redis-server on PATH: one private server per test binary, started on first use
//     on a free loopback port (no persistence, 10000 databases); each test gets the
//     next DB index, flushed again at cleanup. The server dies with the test binary.
//  3. Otherwise an embedded miniredis per test (logged once per binary).
//
// New fails the test rather than falling back when the configured source is broken.
func New(t testing.TB) *Redis {
	t.Helper()
	return newRedis(t, sourceFromEnv())
}

// source says where New gets Redis; tests build their own to force a path.
type source struct {
	url        string // REDIS_URL
	serverPath string // redis-server binary, "" if none
	embedded   bool   // force miniredis
}

func sourceFromEnv() source {
	s := source{url: os.Getenv("REDIS_URL")}
	s.serverPath, _ = redisproc.LookPath()
	return s
}

func newRedis(t testing.TB, src source) *Redis {
	t.Helper()
	switch {
	case src.embedded:
		return newEmbedded(t)
	case src.url != "":
		return leaseFromURL(t, src.url)
	case src.serverPath != "":
		return fromShared(t, src.serverPath)
	default:
		return newEmbedded(t)
	}
}

var embeddedOnce sync.Once

func newEmbedded(t testing.TB) *Redis {
	t.Helper()
	embeddedOnce.Do(func() {
		t.Logf("redistest: no REDIS_URL and no redis-server on PATH: using embedded miniredis " +
			"(TTLs do not run down by themselves; Lua runs in gopher-lua)")
	})
	mr := miniredis.RunT(t)
	return &Redis{Addr: mr.Addr(), Embedded: true, mini: mr}
}

// shared is the private redis-server of this test binary.
var shared = struct {
	mu   sync.Mutex
	path string
	proc *redisproc.Process
	addr string
	err  error // a failed start is not retried by every later test
	dbs  dbPool
}{dbs: dbPool{max: sharedDatabases}}

// dbPool hands out DB indexes: each test the next never-used one (an atomic counter),
// and indexes released by finished tests once those run out.
type dbPool struct {
	max  int64
	next atomic.Int64
	mu   sync.Mutex
	free []int
}

func (p *dbPool) take() (int, bool) {
	if n := p.next.Add(1) - 1; n < p.max {
		return int(n), true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.free) == 0 {
		return 0, false
	}
	db := p.free[len(p.free)-1]
	p.free = p.free[:len(p.free)-1]
	return db, true
}

func (p *dbPool) put(db int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, db)
}

func fromShared(t testing.TB, path string) *Redis {
	t.Helper()
	addr, err := sharedAddr(path)
	if err != nil {
		t.Fatalf("redistest: private redis-server: %v", err)
	}
	db, ok := shared.dbs.take()
	if !ok {
		t.Fatalf("redistest: all %d databases of the private redis-server are in use", sharedDatabases)
	}
	r := &Redis{Addr: addr, DB: db}
	flush := func() error {
		c := redis.NewClient(r.Options())
		defer func() { _ = c.Close() }()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return c.FlushDB(ctx).Err()
	}
	if err := flush(); err != nil {
		t.Fatalf("redistest: FLUSHDB %d on %s: %v", db, addr, err)
	}
	t.Cleanup(func() {
		if flush() == nil { // a DB that could not be emptied is not handed out again
			shared.dbs.put(db)
		}
	})
	return r
}

func sharedAddr(path string) (string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.proc != nil {
		select {
		case <-shared.proc.Done():
			return "", fmt.Errorf("it exited during the tests: %w\n--- redis-server log (tail) ---\n%s",
				shared.proc.Err(), shared.proc.Log())
		default:
			return shared.addr, nil
		}
	}
	if shared.err != nil {
		return "", shared.err
	}
	p, err := redisproc.Start(redisproc.Options{Path: path, Databases: sharedDatabases})
	if err != nil {
		shared.err = err
		return "", err
	}
	shared.path, shared.proc, shared.addr = path, p, p.Addr()
	return shared.addr, nil
}

func stopShared() {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.proc != nil {
		shared.proc.Stop()
	}
}

// acquireScript takes a free DB: the lease is set only if absent, then the DB is
// emptied (which removes the lease too) and the lease set again, in one step so that
// no other tester can slip in between.
var acquireScript = redis.NewScript(`
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  redis.call('FLUSHDB')
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`)

// refreshScript extends the lease if it is still ours.
var refreshScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`)

// releaseScript empties the DB, lease included, if the lease is still ours.
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('FLUSHDB')
  return 1
end
return 0`)

var leaseStart atomic.Int64 // spreads the first probe of parallel tests over the DBs

func leaseFromURL(t testing.TB, rawURL string) *Redis {
	t.Helper()
	opt, err := redis.ParseURL(rawURL)
	if err != nil {
		t.Fatalf("redistest: REDIS_URL: %v (redistest needs a single server: redis://, rediss:// or unix://)", err)
	}
	ctx := context.Background()
	base := *opt
	base.PoolSize = 1
	c := redis.NewClient(&base)
	defer func() { _ = c.Close() }()

	n, err := databases(ctx, c)
	if err != nil {
		t.Logf("redistest: CONFIG GET databases on %s: %v; assuming 16", opt.Addr, err)
		n = 16
	}
	var candidates []int
	for db := 1; db < n; db++ {
		if db != opt.DB {
			candidates = append(candidates, db)
		}
	}
	if len(candidates) == 0 {
		t.Fatalf("redistest: REDIS_URL server %s has %d databases: none to lease besides DB %d", opt.Addr, n, opt.DB)
	}

	token := leaseToken()
	conn := c.Conn()
	defer func() { _ = conn.Close() }()
	waitCtx, cancel := context.WithTimeout(ctx, leaseWait)
	defer cancel()
	db, err := lease(waitCtx, conn, candidates, token, func() {
		t.Logf("redistest: every database of %s is leased; waiting for one", opt.Addr)
	})
	if err != nil {
		t.Fatalf("redistest: lease a database on %s: %v", opt.Addr, err)
	}

	r := &Redis{Addr: opt.Addr, DB: db, Password: opt.Password,
		network: opt.Network, username: opt.Username, tls: opt.TLSConfig}
	lopt := *opt
	lopt.DB, lopt.PoolSize = db, 1
	lc := redis.NewClient(&lopt)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() { // keep the lease while the test runs, however long
		defer close(done)
		tick := time.NewTicker(leaseRefresh)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				_ = refreshScript.Run(ctx, lc, []string{LeaseKey}, token, leaseTTL.Milliseconds()).Err()
			}
		}
	}()
	t.Cleanup(func() {
		close(stop)
		<-done
		defer func() { _ = lc.Close() }()
		rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := releaseScript.Run(rctx, lc, []string{LeaseKey}, token).Err(); err != nil {
			t.Logf("redistest: release DB %d on %s: %v (it frees itself in %v)", db, opt.Addr, err, leaseTTL)
		}
	})
	return r
}

// lease probes candidates, starting at a different one for each call, until it takes
// one; when all are taken it calls waiting once and polls until ctx is done.
func lease(ctx context.Context, conn *redis.Conn, candidates []int, token string, waiting func()) (int, error) {
	start := int(leaseStart.Add(1)) + os.Getpid()
	warned := false
	for {
		for k := range candidates {
			db := candidates[(start+k)%len(candidates)]
			if err := conn.Select(ctx, db).Err(); err != nil {
				return 0, fmt.Errorf("SELECT %d: %w", db, err)
			}
			ok, err := acquireScript.Run(ctx, conn, []string{LeaseKey}, token, leaseTTL.Milliseconds()).Int()
			if err != nil {
				return 0, fmt.Errorf("DB %d: %w", db, err)
			}
			if ok == 1 {
				return db, nil
			}
		}
		if !warned && waiting != nil {
			waiting()
			warned = true
		}
		select {
		case <-ctx.Done():
			return 0, errors.Join(errors.New("no database became free"), ctx.Err())
		case <-time.After(leasePoll):
		}
	}
}

func databases(ctx context.Context, c *redis.Client) (int, error) {
	m, err := c.ConfigGet(ctx, "databases").Result()
	if err != nil {
		return 0, err
	}
	n, err := strconv.Atoi(m["databases"])
	if err != nil {
		return 0, fmt.Errorf("databases = %q: %w", m["databases"], err)
	}
	return n, nil
}

func leaseToken() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	host, _ := os.Hostname()
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}
