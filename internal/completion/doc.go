// Package completion decides when an upload job is complete and tells the app.
//
// A job whose upload left extensions or post-transformations pending is "uploaded";
// ImageKit reports each item's final status by webhook later. Completion merges those
// statuses into the job (commutatively: order and duplicates do not matter), marks
// the job completed when nothing is pending, marks items still pending at a deadline
// as unknown, and queues the signed callback to the app's callbackUrl when a job ends.
//
//	tr := completion.New(completion.Config{Store: store, Redis: rdb, Queue: client})
//	mux.HandleFunc(tasks.TypeDeadline, tr.HandleDeadline) // asynq.ServeMux of the worker
//	// The worker, after the Upload API answered:
//	job, err := tr.RecordUpload(ctx, jobID, completion.Upload{Result: body,
//		FileID: res.FileID, FilePath: res.FilePath,
//		Items: map[string]string{"remove-bg": completion.Pending}})
//	// The webhook receiver, as ImageKit reports (in any order, before or after that):
//	changed, err := tr.ApplyItem(ctx, jobID, "remove-bg", completion.Success)
//	changed, err = tr.ApplyForFile(ctx, fileID, "google-auto-tagging", completion.Failed)
//	err = tr.Relay(ctx, jobID, webhookBody) // to the job's own webhookUrl, if any
//
// # Merging
//
// An item's status only moves up the order pending < unknown < success < failed
// (Merge), so any order of webhooks and of the upload's record ends in the same
// statuses, and a duplicate changes nothing. A status for a job that is still active
// is kept on the job; one for a file no job has recorded yet is parked in Redis
// (jobstore.SpreadKey("parked", fileId), for Config.Deadline) until RecordUpload takes it.
//
// # Ending
//
// The job becomes completed in exactly one jobstore transition (RecordUpload with no
// pending item, the ApplyItem that makes the last one final, or HandleDeadline), and
// that one calls Finished, which queues the callback task under an id naming the job
// and its final status, so a callback is never queued twice.
package completion
