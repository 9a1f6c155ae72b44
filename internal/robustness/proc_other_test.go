//go:build !linux

package robustness

import "os/exec"

// setParentDeath does nothing here: only Linux has a parent-death signal, so a
// subprocess outlives a test binary that panics.
func setParentDeath(*exec.Cmd) {}
