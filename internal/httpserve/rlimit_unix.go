//go:build unix

package httpserve

import "syscall"

func openFileLimit() (int64, bool) {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 {
		return 0, false
	}
	return int64(min(rl.Cur, 1<<20)), true //nolint:gosec // G115: capped first
}
