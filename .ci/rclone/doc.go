// Package rclone runs rclone's own ImageKit backend (rclone v1.76) against ikq's
// emulator on loopback: rclone's operations (mkdir, copy, ls, cat with ranges,
// versions, delete, rmdir, purge) and, with IKQ_RCLONE_FSTESTS=1, rclone's
// integration suite. rclone calls https://api.imagekit.io and
// https://upload.imagekit.io, so the test routes them through a CONNECT proxy that
// terminates TLS with a throwaway CA (trusted through SSL_CERT_FILE) and forwards to
// the emulator.
//
// BenchmarkMigration (run by `make bench`) moves one tree of 1500 small files with
// `ikq bulk --wait` (local mode, a real redis-server), with rclone's `copy
// --transfers 32` through the same proxy, and with a sequential upload loop, first
// into an empty emulator and then again unchanged, at 0 and 100 ms of upload latency,
// and prints their files per second in one table.
//
// It is a module of its own so that ikq's module does not depend on rclone:
//
//	cd .ci/rclone && go test ./...
//	cd .ci/rclone && go test -run='^$' -bench=Migration -benchtime=1x .
package rclone
