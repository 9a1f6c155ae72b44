//go:build !linux

package childproc

import (
	"os/exec"
	"testing"
)

func checkParentDeath(*testing.T, *exec.Cmd) {}
