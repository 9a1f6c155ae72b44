// Package redistest gives each test its own Redis database, so tests that use Redis
// run with t.Parallel and never see each other's keys.
//
//	func TestSomething(t *testing.T) {
//		t.Parallel()
//		r := redistest.New(t)   // an empty database, flushed again at cleanup
//		rdb := r.Client(t)      // *redis.Client, closed at cleanup
//		rdb.Set(t.Context(), "k", "v", 0)
//
//		client := asynq.NewClient(r.AsynqOpt()) // the same database, for asynq
//		defer client.Close()
//	}
//
// # Where Redis comes from
//
// New picks the first of:
//
//  1. REDIS_URL: a server you run (CI service container, docker). Each test leases a
//     database index other than the URL's own by setting the key LeaseKey in it, so
//     parallel tests and parallel test binaries never share a database, and nothing
//     outside the leased indexes is touched. The URL's server needs more than one
//     database (not Redis Cluster).
//  2. redis-server on PATH: one private server per test binary on a free loopback
//     port, without persistence, with 10000 databases; each test takes the next one.
//     The server dies with the test binary; TestMain can call Main to stop it sooner.
//  3. Otherwise miniredis, embedded in the test, one per test. It covers go-redis,
//     Lua scripts and asynq, but its TTLs only run down with FastForward.
//
// The shared Redis on the default port is never used unless REDIS_URL names it.
//
// # Outages
//
// NewServer starts a server that the test alone owns, for tests of what happens when
// Redis goes away: Stop it, watch clients fail, Start it again on the same address.
//
// # Topologies
//
// NewCluster starts a Redis Cluster (three masters, a replica each) and NewSentinel a
// Sentinel group (a master, a replica, three Sentinels), each owned by one test. Their
// URL is a REDIS_URL ikq reads (redis-cluster://…, redis-sentinel://…?master=ikq);
// Kill ends a server with SIGKILL, WaitPromoted and WaitFailover wait for a replica to
// take over, Restart brings a server back, and MasterOfKey, Master and Nodes say who
// serves what:
//
//	c := redistest.NewCluster(t, redistest.ClusterOptions{})
//	old := c.MasterOfKey(t, "asynq:{default}:pending")
//	c.Kill(t, old)
//	promoted := c.WaitPromoted(t, old, 30*time.Second)
//
// The redis-server processes are run by package redisproc, which programs outside
// tests can use too.
package redistest
