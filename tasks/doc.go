// Package tasks is the wire contract between ikq's producers and workers: the Upload job
// spec, its validation, the asynq task types, and their constructors and parsers.
//
// It imports only asynq, validator and the standard library, so a web app can import it
// alone to build and check jobs before it sends them.
//
// # Usage
//
//	job, err := tasks.Decode(body) // strict JSON: unknown fields and wrong types name the field
//	if err != nil {
//		return err // *tasks.DecodeError
//	}
//	if err := job.Validate(tasks.ValidateOptions{}); err != nil {
//		return err // *tasks.ValidationError: every problem, each with its field
//	}
//	record := job.Redacted() // store this: no inline bytes, no URL secrets
//	task, err := tasks.NewUploadTask(jobID, asynq.Queue(job.QueueName()), asynq.MaxRetry(job.Attempts()-1))
//	// ... and in the worker: p, err := tasks.ParseUploadTask(t); load job p.JobID
//
// # The job
//
// [Upload] carries the source in File (an http(s) URL, an object-store reference such as
// s3://bucket/key, a data URI, or plain base64), every Upload API option under the API's own
// JSON name, and ikq's own fields: callbackUrl, queue, runAt, maxAttempts, idempotencyKey and
// fetch. tags and responseFields read as an array or a comma-separated string;
// extensions, customMetadata and transformation read as JSON values or as strings holding
// them, the way the Upload API's form fields carry them.
//
// [Options] lists every field of the job once, with its kind, its flag name and whether
// ImageKit's Upload API receives it; the decoder, `ikq enqueue`'s flags and the bulk
// manifest's columns come from it, and tests hold the Upload API client, the OpenAPI
// document and the emulator to it.
//
// [Decode] is for untrusted input: it rejects unknown and repeated fields. Upload's
// UnmarshalJSON ignores unknown fields, so records written by a newer ikq still load.
//
// # Validation
//
// [Upload.Validate] mirrors the rules of the Upload API (file and fileName required, tags at
// most 500 characters in all and no %, folder characters and depth, customCoordinates,
// responseFields, extensions and their options, transformation) and adds ikq's (allowed
// source schemes, inline size, queue, maxAttempts, runAt, idempotencyKey, fetch). A rejected
// job gets every problem at once in a [ValidationError], each [Problem] with the JSON path of
// its field ("extensions[1].maxTags") and a sentence a person understands.
//
// # The job record
//
// [Job] is a job's record as ikq keeps it and as GET /v1/uploads/{id}, `ikq status`,
// package producer and callbacks show it: its [Status], attempts, the redacted request,
// the Upload API's answer, extension statuses, the [JobError] of a failure, the
// [Callback] delivery and a timeline of [Event]s. [ListOptions] select a page of jobs.
// [ErrNotFound], [ErrIllegalTransition] (a [TransitionError]) and [ErrConflict] are the
// errors of reading and changing jobs, which producer re-exports.
//
// A [Run] groups the jobs whose spec names it (ikq bulk's run id): GET /v1/runs/{id}
// and `ikq run show` show its [RunCounts] by status and its [RunFailure]s grouped by
// reason; [ValidRunID] says what may name one, and [ErrRunNotFound] (which matches
// ErrNotFound) is an unknown one.
//
// # Tasks
//
// Queues carry references, not bytes: a [TypeUpload] task holds only the job id
// ([UploadPayload]); the spec lives in the job store. A [TypeCallback] task delivers a finished
// job's record to its callbackUrl ([CallbackPayload]). The parsers' errors, [ErrWrongType] and
// [ErrBadPayload], also match asynq.SkipRetry, since running such a task again cannot help.
package tasks
