//go:build !linux

package s3test

import "os/exec"

// startProcess starts cmd. Outside Linux a server outlives a test binary that dies
// without running its cleanups.
func startProcess(cmd *exec.Cmd) error { return cmd.Start() }
