// Package metrics holds ikq's Prometheus metrics and the registry /metrics serves.
//
//	m := metrics.New() // one per process
//	w, err := worker.New(worker.Config{ /* … */ Metrics: m })
//
//	// In the API process:
//	jobs := metrics.NewJobStateCollector(func(ctx context.Context) (map[string]int64, error) {
//		return countsByState(ctx) // the job store's Counts, statuses as strings
//	})
//	reg, err := metrics.NewRegistry(m, asynq.NewInspectorFromRedisClient(rdb), jobs)
//	if err != nil { ... }
//	mux.Handle("GET /metrics", metrics.Handler(reg))
//
// Recording methods are safe for concurrent use, and a nil *Metrics records nothing:
// packages take an optional *Metrics and call it without checking.
//
// # ikq's metrics
//
//	ikq_uploads_total{queue,outcome}                 counter
//	ikq_upload_duration_seconds{queue,outcome}       histogram, 50ms … 30min
//	    One per upload attempt that ended, timed from the worker taking the task.
//	    outcome: completed, uploaded (stored, extensions pending), retrying,
//	    throttled (retried without using an attempt), failed, canceled.
//	ikq_uploaded_bytes_total                         counter
//	    Bytes ImageKit stored, from the sizes in its upload answers.
//	ikq_source_fetch_duration_seconds{scheme,outcome} histogram, 5ms … 60s
//	    Opening a source, to its response headers, retries within the attempt
//	    included. scheme: http, https, file, s3, gs, azblob, mem, inline, other;
//	    outcome: ok, error. Jobs with fetch=remote open no source.
//	ikq_jobs{state}                                  gauge
//	    Jobs in the job store by state, read from Redis at each scrape.
//	ikq_webhooks_total{kind,result}                  counter
//	    kind: extension (per-job callbacks), account (signed events);
//	    result: applied, duplicate, rejected, invalid.
//	ikq_callbacks_total{result}                      counter
//	    Deliveries to apps' callback URLs; result: delivered, retrying, failed.
//
// The webhook and callback series exist at zero from the start; the upload series
// appear with their first attempt.
//
// # asynq's metrics
//
// NewRegistry adds asynq's queue collector (github.com/hibiken/asynq/x/metrics):
// asynq_tasks_enqueued_total{queue,state}, asynq_queue_size, asynq_queue_latency_seconds,
// asynq_queue_memory_usage_approx_bytes, asynq_tasks_processed_total,
// asynq_tasks_failed_total and asynq_queue_paused_total, all read from Redis at each
// scrape. They, and ikq_jobs, are the same numbers whichever process serves them:
// aggregate them across instances with max, not sum. The ikq_ counters, by contrast,
// count what their own process did; sum them.
//
// # Example queries
//
//	sum by (outcome) (rate(ikq_uploads_total[5m]))
//	histogram_quantile(0.95, sum by (le, queue) (rate(ikq_upload_duration_seconds_bucket{outcome="completed"}[5m])))
//	rate(ikq_uploaded_bytes_total[5m])
//	max by (state) (ikq_jobs)
package metrics
