// Package jobstore keeps ikq's job records in Redis: the document GET /v1/uploads/{id}
// returns, its state machine, indexes by status, idempotency keys and retention.
//
//	store := jobstore.New(rdb, jobstore.Options{}) // rdb: a go-redis UniversalClient
//	job, existed, err := store.Create(ctx, &jobstore.Job{
//		Queue: "default", MaxAttempts: 5, IdempotencyKey: key, Request: redacted,
//	}, spec) // spec: the job spec the worker reads back with store.Spec
//	// existed: the key named a job already; job is that one.
//	job, err = store.Transition(ctx, job.ID, jobstore.StatusActive, "attempt 1", func(j *jobstore.Job) error {
//		j.Attempts++
//		return nil
//	})
//	page, next, err := store.List(ctx, jobstore.ListOptions{Status: jobstore.StatusFailed})
//
// # States
//
// A job is created queued. Transition allows exactly these moves (anything else is a
// *TransitionError, errors.Is ErrIllegalTransition, and changes nothing):
//
//	queued   → active, failed, canceled
//	active   → active (a re-run), retrying, uploaded, completed, failed, canceled,
//	           queued (pushed back at worker shutdown)
//	retrying → active, retrying, failed, canceled, queued
//	uploaded → uploaded, completed
//	failed   → queued (the producer retries it)
//	canceled → queued (the producer retries it)
//
// Every transition appends an event to the job's timeline, which keeps the first
// event and the newest Options.MaxEvents-1 (Options.FinishedEvents-1 once finished).
//
// # Concurrency
//
// Workers, webhooks and producers write the same job. Every write is an optimistic
// compare-and-set in one Lua script: the hash keeps a version, a write succeeds only if
// the version is the one it read, and a writer that lost reads again and re-applies its
// change. Mutate functions therefore run on a fresh copy and may run more than once.
//
// A Store remembers the jobs it wrote last, with their versions, and its next write of
// one starts from that instead of reading it: a worker's outcome after its "active" is
// one round trip, and a job that moved meanwhile costs the read it would have cost.
// The happy path of a job is four round trips: Create; Start (job and spec in one
// read, then "active"); Record (the outcome, with the file's lookup).
//
// # Keys and shards
//
// Job state is spread over Shards (32) shards, each under its own hash tag, so that on
// Redis Cluster it is spread over the masters: the tags sit at evenly spaced slots,
// and any even split of the slots gives each master its share of shards. The keys of
// one job are in one shard, so every script touches one slot.
//
//	ikq:{<shard>}:job:<id>             HASH doc (the Job as JSON, deflated once finished),
//	                                   v (version), status, spec
//	ikq:{<shard>}:status:<status>      ZSET of the shard's ids in that status, score 0:
//	                                   lexicographic = creation order
//	ikq:{<shard>}:idem:<hash of key>   STRING: the job an idempotency key names
//	ikq:{<shard>}:byfile:<fileId>      STRING: the job that uploaded an ImageKit file
//	ikq:{<shard>}:run:<id>…            a run's keys in the shard (see Runs)
//	ikq:{runs}:runs, ikq:{runs}:run-entries  the list of runs
//
// A job made by NewID names its shard in the last character of its id; a job with
// an idempotency key is made in the key's shard (the key is looked up by its hash),
// so Create checks the key and creates the job in one script. A file's byfile key is
// in the shard of the file id, which is all a webhook knows; it is written by its own
// command, in the round trip of the record that names the file (see Record). List and Counts
// ask every shard in one pipelined round and merge.
//
// # Runs
//
// A job whose record names a Run is added to its run's sets in its shard by the script
// that creates it, and moved between them by the script that moves it, so GetRun's
// counts, summed over the shards, are exact. A run's keys in a shard live while any of
// its jobs there is unfinished and expire Options.Retention after the last one ended;
// the run lives while it has keys in any shard.
//
//	run, err := store.GetRun(ctx, "mig-1", true) // counts, and failures by reason
//	jobs, next, err := store.RunJobs(ctx, "mig-1", jobstore.ListOptions{Status: jobstore.StatusFailed})
//
// # Retention and memory
//
// A finished job (completed, failed, canceled) expires Options.Retention after its
// last write, together with its idempotency key; a retried job is kept again. Its
// byfile key lives the retention (at least 48 hours) from when the job took the file.
// Index entries of expired jobs are removed by List as it meets them, and by Prune,
// which a long-running process calls now and then.
//
// A finished record is compact: its doc deflated, its timeline capped at
// Options.FinishedEvents, and a completed job keeps of its spec only the callbackUrl
// and webhookUrl read after completion (a failed or canceled one keeps it whole, for
// a retry). A finished job of a bulk migration (a run, an idempotency key, a
// callback) takes about 1.6 KB of Redis memory (TestFinishedJobMemory).
//
// # Replicas
//
// With Options.WaitReplicas, Create waits (Redis WAIT, on the connection to the master
// that took the write) until that many replicas have the new job, or fails with
// ErrNotReplicated, so that an acknowledged job survives a failover.
package jobstore
