// Package bench holds ikq's benchmarks of the whole pipeline, run by `make bench`:
//
//   - BenchmarkPipeline: jobs per second for 2000 small files through ikq with one
//     worker, against the plain sequential loop ImageKit's docs suggest (download a
//     file, upload it, next), both against the emulator, and their ratio; once with
//     no added latency and once with the emulator answering after 20 ms, nearer a
//     real upload round trip.
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
