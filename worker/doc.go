// Package worker is ikq's asynq server: it takes upload jobs off the queues, streams
// each source into the ImageKit Upload API, and records every step in the job store.
//
//	w, err := worker.New(worker.Config{
//		Redis:      rdb,
//		PrivateKey: os.Getenv("IMAGEKIT_PRIVATE_KEY"),
//		Sources:    worker.SourceConfig{FileRoot: "/srv/media", MaxFileSize: 100 << 20},
//		Registerer: prometheus.DefaultRegisterer,
//	})
//	if err != nil { ... }
//	defer w.Close()
//	err = w.Run(ctx) // until ctx ends; running uploads get Config.ShutdownGrace to finish
//
// # Attempts and failures
//
// Every failure is classified once:
//
//   - transient (network, timeouts, 5xx, a URL ImageKit could not download, a source
//     that stalls or trickles: SourceConfig.IdleTimeout and MinRate): the job goes to
//     retrying and asynq runs it again after an exponential delay with jitter;
//   - throttled (429, or the Upload API's 400 "too many requests … recently"): the job
//     waits for X-RateLimit-Reset or Retry-After, and the wait does not use an attempt.
//     A job whose URL source's host is slow and already holds its share of the
//     slots (SourceConfig.HostShare) waits the same way, a few seconds, in the queue:
//     its slot goes to jobs of other hosts;
//   - permanent (any other 4xx, a missing or too large source, a host the DNS says
//     does not exist): the job fails at once with the API's own message, and asynq
//     does not retry it.
//
// The message a job record keeps names the failure without internal network details:
// no resolver address, no address an allowed host resolved to, no metadata service a
// credential chain probed, every URL redacted (classify.go). Logs keep the error whole.
//
// # Re-runs
//
// asynq runs a task at least once. A job that asks for a unique file name gets a
// suffix derived from its id, and is uploaded with useUniqueFileName=false and
// overwriteFile=true, so a re-run lands on the same path instead of making a second
// asset. A job already uploaded, finished or canceled is not uploaded again.
//
// # What is already there (ifExists)
//
// A job with ifExists asks the files API what its destination path holds before
// uploading (ifexists.go): one listing per run and folder, kept briefly in a bounded
// cache; a re-run looks its own name up afresh. skip completes the job with the file
// in place when its size matches (event "skipped: …") and uploads a new version
// otherwise; version uploads a new version; overwrite uploads over it without
// asking; fail fails the job, naming the path. ikq bulk sets skip, which makes its
// re-runs safe whatever happened to Redis.
//
// # Metrics
//
// With Config.Registerer set, every attempt that ends is counted and timed by queue and
// outcome (completed, uploaded, retrying, throttled, failed, canceled), the sizes
// ImageKit reports are summed, and every source opened is timed by scheme and
// outcome. An attempt cut short by shutdown records nothing: it runs again.
package worker
