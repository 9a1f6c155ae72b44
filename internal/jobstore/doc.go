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
// event and the newest Options.MaxEvents-1.
//
// # Concurrency
//
// Workers, webhooks and producers write the same job. Every write is an optimistic
// compare-and-set in one Lua script: the hash keeps a version, a write succeeds only if
// the version is the one it read, and a writer that lost reads again and re-applies its
// change. Mutate functions therefore run on a fresh copy and may run more than once.
//
// # Keys
//
// All keys share the hash tag {jobs}, so they live in one Redis Cluster slot:
//
//	ikq:{jobs}:job:<id>           HASH doc (the Job as JSON), v (version), status
//	ikq:{jobs}:all                ZSET of ids, score 0: lexicographic = creation order
//	ikq:{jobs}:status:<status>    ZSET of the ids in that status
//	ikq:{jobs}:idem:<sha256(key)> STRING: the job an idempotency key names
//	ikq:{jobs}:byfile:<fileId>    STRING: the job that uploaded an ImageKit file
//	ikq:{jobs}:runs               ZSET of "<created ms>:<run id>": runs in creation order
//	ikq:{jobs}:run:<id>           HASH: the run's creation time and what bulk said of it
//	ikq:{jobs}:run:<id>:jobs      ZSET of its job ids; :status:<status> the same by status
//
// # Runs
//
// A job whose record names a Run is added to its run's sets by the script that
// creates it, and moved between the run's status sets by the script that moves it, so
// GetRun's counts are exact and cost one ZCARD per status. A run lives while any of its
// jobs is unfinished and expires Options.Retention after the last one ended.
//
//	run, err := store.GetRun(ctx, "mig-1", true) // counts, and failures by reason
//	jobs, next, err := store.RunJobs(ctx, "mig-1", jobstore.ListOptions{Status: jobstore.StatusFailed})
//
// # Retention
//
// A finished job (completed, failed, canceled) expires Options.Retention after its
// last write, together with its idempotency and byfile keys; a retried job is kept
// again. Index entries of expired jobs are removed by List as it meets them, and by
// Prune, which a long-running process calls now and then.
package jobstore
