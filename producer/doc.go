// Package producer is what a web app uses to hand uploads to ikq: a Go client that
// enqueues upload jobs and reads, lists, cancels and retries them.
//
//	p, err := producer.New(producer.Config{Redis: rdb})
//	if err != nil { ... }
//	defer p.Close()
//	job, err := p.Enqueue(ctx, tasks.Upload{
//		File:     "https://example.com/photo.jpg",
//		FileName: "photo.jpg",
//		Tags:     tasks.StringList{"summer"},
//	})
//	// job.ID identifies it; p.Get(ctx, job.ID) follows it to completed or failed.
//
// # Jobs and tasks
//
// Each job is a record in ikq's job store (what Get returns) and an asynq task whose id
// is the job id, so queueing a job twice never makes two tasks. The job spec stays in
// the store; the task carries only the id.
//
// # Idempotency
//
// A job with an IdempotencyKey that an earlier job used returns the earlier job: a
// producer that retries its own call never makes two jobs.
//
// # Runs
//
// Jobs whose spec names a Run (ikq bulk gives every job of one invocation the same)
// form a run: [Client.Runs] lists them, [Client.Run] gives one with its counts by
// status and its failures grouped by reason, [Client.RunJobs] pages through its jobs
// and [Client.RetryRun] queues its failed jobs again.
//
//	run, err := p.Run(ctx, "mig-1") // errors.Is(err, producer.ErrRunNotFound)
//	n, err := p.RetryRun(ctx, "mig-1", producer.RetryRunOptions{})
//
// # Errors
//
// Methods return errors to classify with errors.Is and errors.As: [ErrNotFound] for
// an unknown or expired id, [ErrIllegalTransition] (a *[tasks.TransitionError]) when
// the job's status does not allow the call, [ErrStillStopping] from Retry while a
// canceled run is still stopping, and a *[tasks.ValidationError] listing every problem
// of a job Enqueue refused. They are package tasks' own values, so a web app that
// imports only tasks classifies them too.
//
// # Callbacks
//
// A job with a CallbackURL is POSTed to it, signed with Standard Webhooks headers,
// when it ends; [VerifyCallback] checks the signature and returns the job record.
//
// # REST API
//
// `ikq api` serves the same over HTTP (POST /v1/uploads, GET /v1/uploads/{id}, …);
// its OpenAPI document is at /openapi.json.
package producer
