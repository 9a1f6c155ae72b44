//go:build !linux

package childproc

import "os/exec"

// setParentDeath is Linux-only: elsewhere a child outlives a parent killed before it
// stops the child.
func setParentDeath(*exec.Cmd) bool { return false }
