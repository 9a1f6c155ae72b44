//go:build !linux

package redistest

import (
	"io"
	"os/exec"
)

// setParentDeath is Linux-only; elsewhere use Main, or servers outlive a killed binary.
func setParentDeath(*exec.Cmd) {}

// reservePort is Linux-only; elsewhere the port is merely unlikely to be taken.
func reservePort(int) (io.Closer, error) { return io.NopCloser(nil), nil }
