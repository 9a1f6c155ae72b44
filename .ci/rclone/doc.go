// Package rclone runs rclone's own ImageKit backend (rclone v1.76) against ikq's
// emulator on loopback: rclone's operations (mkdir, copy, ls, cat with ranges,
// versions, delete, rmdir, purge) and, with IKQ_RCLONE_FSTESTS=1, rclone's
// integration suite. rclone calls https://api.imagekit.io and
// https://upload.imagekit.io, so the test routes them through a CONNECT proxy that
// terminates TLS with a throwaway CA (trusted through SSL_CERT_FILE) and forwards to
// the emulator.
//
// It is a module of its own so that ikq's module does not depend on rclone:
//
//	cd .ci/rclone && go test ./...
package rclone
