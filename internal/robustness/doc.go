// Package robustness holds ikq's long-running tests of what goes wrong in
// production: workers that crash or are stopped mid-upload, jobs canceled in every
// state, Redis going away or failing over to a replica, and an Upload API that fails
// and throttles. It has no
// code, only tests; they take minutes, so they run only when asked:
//
//	make test-long
//	# or: IKQ_LONG_TESTS=1 go test -race -count=1 -timeout 30m ./internal/robustness/
//	# one test: IKQ_LONG_TESTS=1 go test -race -run TestFaultSoak -v ./internal/robustness/
//
// Without IKQ_LONG_TESTS=1 every test skips, so `make test` stays fast.
//
// Each test builds nothing but its own world, on loopback (TestPartitionedWorker: in
// network namespaces it makes, see below): a private redis-server,
// the emulator as an `ikq emulator` subprocess, sources served by an httptest server,
// and workers (and `ikq api`) as subprocesses of the real binary, built once per test
// binary with `go build`, so that they can be killed and stopped like real ones. The
// tests run in parallel (-parallel, by default one per CPU). Their waits are generous
// bounds; one that runs out fails with the state it last saw. Every job is checked against the emulator's files API: each
// job's result name appears exactly once, and there are as many files as jobs.
//
// # The tests
//
// TestCrashRerunsMakeNoDuplicates: 240 jobs; worker A (concurrency 16) is killed
// with SIGKILL once a third have completed; worker B finishes. The tasks A held stay
// active in asynq until their lease (30 s) has been expired for 30 s and the
// recoverer (every minute) hands them out again, about a minute after the crash. A
// has often sent those uploads in full, and the emulator, like ImageKit, stores an
// upload whose client has gone: their re-runs upload the same file again. Because
// the unique suffix of each file name comes from the job id, a re-run overwrites
// (a second version of one asset), never adds a second asset.
//
// TestShutdownHandsUploadsBack: ten uploads that each take seconds to stream; SIGTERM
// to a worker with --shutdown-grace 1s. The worker exits (status 0) shortly after
// the grace; asynq has pushed the tasks back to pending without using an attempt,
// and the records say queued. A second worker uploads each once, on attempt 1.
//
// TestCancelHolds: jobs canceled while scheduled (a future runAt), while waiting for
// a retry (the emulator answers their first upload 500; --retry-base 6s), and while
// running (a slow source) are never uploaded afterwards, well past when each would
// have run. The jobs canceled while running are then retried: one once the cancel
// has settled, four at once, and one while its worker is frozen with SIGSTOP (a GC
// pause, a starved CPU) and still holds the task; that job has a single attempt, so
// the interrupted run archives its task. Through the REST API that retry answers 409
// still-stopping; the Go client waits until the worker lets go. Each retried job
// completes, uploaded exactly once.
//
// TestRedisOutage: 300 jobs, a worker and `ikq api` running; Redis is stopped for
// 10 s once a third are done (IKQ_OUTAGE sets another length). Meanwhile GET /readyz
// and POST /v1/uploads answer 503 with Retry-After, never 500. Redis comes back with
// its data (an append-only file: redistest.Server restarts empty, which no run could
// survive); /readyz turns 200, a job posted then is accepted, the same worker hands
// back the tasks it held through the outage at once (not via asynq's recoverer) and
// every job completes with one file. Nothing is left queued, active or retrying, in
// the job store or in asynq.
//
// TestFaultSoak: 2000 jobs through one worker (concurrency 32, --retry-base 1s) while
// the emulator answers 10% of uploads 500/503 and 5% 429 (reset 1 s), after 0-40 ms,
// seeded. Every job completes within its attempts; the test prints how many took 1,
// 2, 3… attempts and how many 429 waits there were (a 429 makes a job wait, it does
// not use an attempt).
//
// TestPartitionedWorker: hosts rather than processes. Linux network namespaces joined
// by a bridge (root and the ip command needed; it skips without them, and fails
// under CI=true): Redis, the emulator and `ikq api` on host A, `ikq worker` on hosts
// B and C, the sources on the test's own end. 40 uploads of a few seconds each; in
// the middle of B's, B's link is cut at the bridge, so its packets vanish. B's tasks
// stay active until asynq's lease has run out and C's recoverer hands them out, one to
// two minutes after the cut; C completes them, with one file per job (an upload of
// B's that reached the emulator before the cut becomes a first version that C's
// overwrites). B's own attempts gave up when asynq canceled them at the lease's end,
// their records untouched. Then the link comes back: B rejoins and takes new jobs, and
// the records of the jobs it lost do not change; each has one completed event. The
// test prints the jobs B held, the seconds until they completed, the second versions.
//
// # Failover
//
// The failover tests run `ikq api` and two workers on a Redis Cluster (three masters,
// a replica each, cluster-node-timeout 2 s) or a Sentinel group (a master, a replica,
// three Sentinels, quorum 2, down-after 1 s), built by redistest from redis-server.
// 300 jobs (maxAttempts 2) are posted one at a time through the REST API, each with an
// Idempotency-Key and posted again until the API acknowledges it (202, or 200 for a
// key it knows); uploads take about a second. Once a third are acknowledged:
//
//   - TestFailoverClusterKill: SIGKILL to the master of the default queue's slot
//     (asynq:{default}), which also holds job records kept under one hash tag.
//   - TestFailoverClusterKillJobState: the queue's slot is first moved to another
//     master; SIGKILL to the master holding the most job state but not the queue.
//   - TestFailoverSentinelKill: SIGKILL to the Sentinel group's master.
//   - TestFailoverSentinelPlanned: SENTINEL FAILOVER, the old master still running.
//
// The API and the workers run with IKQ_REDIS_WAIT_REPLICAS=1 (a new job, and each
// outcome, confirmed by a replica) and sweep for vanished tasks every 5 s. A killed
// node is restarted once its replica has taken over, and rejoins as a replica. Every job the API acknowledged must complete within 40 s of the
// posting's end: none gone (lost), still queued or active (stuck), failed, or archived
// by asynq; one asset per source in the emulator (versions allowed); the API must
// acknowledge jobs within 10 s of the new master having a replica again (after a
// planned failover, when the Sentinels make the old master its replica, about 10 s
// after the promotion), /readyz answer 200 and the workers complete jobs again within
// 10 s of the promotion. Each test prints its figures on lines starting with
// "figure: failover=<name>": jobs acknowledged, completed, lost, stuck, failed,
// archived; seconds from the kill to the promotion, to the API serving, to /readyz
// 200, to every job final (a negative promotion_to_api_serving: it never stopped);
// each master's share of the data commands (INFO commandstats) while the run was
// healthy; how many ikq keys the disrupted master held; and the bytes the masters hold
// per finished job (MEMORY USAGE of every ikq: and asynq: key).
//
//	IKQ_LONG_TESTS=1 go test -run TestFailover -v ./internal/robustness/ | grep '^figure:'
//
// # Redis outages longer than asynq's lease
//
// A worker renews the leases of its tasks every 5 s; while Redis is away it cannot,
// and 30 s after the last renewal asynq cancels those tasks' handlers (the uploads in
// flight stop) and writes nothing. Once Redis is back, asynq's recoverer, which runs
// every minute, hands out tasks whose lease expired more than 30 s before: they run
// again, using an attempt, one to two minutes after Redis returned. Their re-runs
// land on the same file names, so there is still one file per job; the records said
// active meanwhile. Run TestRedisOutage with IKQ_OUTAGE=45s to watch it (the test then
// waits up to six minutes).
//
// # Options
//
//	IKQ_LONG_TESTS=1   run the tests (otherwise they skip)
//	IKQ_LONG_RACE=1    build the ikq subprocesses with -race too (make test-long does); a race they report fails the test
//	IKQ_LONG_LOGS=DIR  keep each subprocess's output in DIR (it is shown anyway when a test fails)
//	IKQ_OUTAGE=45s     TestRedisOutage's outage length (default 10s)
package robustness
