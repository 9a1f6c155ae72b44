// Package bench holds ikq's benchmarks of the whole pipeline, run by `make bench`:
//
//   - BenchmarkPipeline: jobs per second for 2000 small files through ikq with one
//     worker, against the plain sequential loop ImageKit's docs suggest (download a
//     file, upload it, next) and against asynq alone (tasks that only wait the
//     upload's latency: no job goes faster through ikq), with the emulator answering
//     after 0, 1, 5, 20 and 100 ms; Redis round trips, commands, CPU and memory per
//     job; the REST API's enqueue rate, one job a request and in batches; the CPU of
//     an `ikq worker` process per job. It ends with a summary table, and plots jobs/s
//     against latency into the PNG file IKQ_BENCH_PLOT names (`make bench`:
//     bench-pipeline.png).
//   - BenchmarkJobState: the job state work of one job on the happy path (Create,
//     Start, the outcome) on a Redis of its own: round trips, and the commands
//     redis-server ran for it by name.
//   - BenchmarkWorkerPeakRSS: the peak resident memory of an `ikq worker` process
//     streaming one 300 MB video from a URL into the emulator.
//   - BenchmarkBulkPeakRSS: the peak resident memory of `ikq bulk --dry-run` on a
//     1,000,000-line manifest and on a folder of 100,000 files, and of enqueuing that
//     folder into Redis: bulk streams its source, so it stays far under 100 MiB.
//
// The comparison of `ikq bulk` with rclone's ImageKit backend is BenchmarkMigration
// in .ci/rclone, a module of its own so that ikq does not depend on rclone; `make
// bench` runs both.
//
// They are benchmarks, not tests: they report figures and assert nothing about speed.
package bench
