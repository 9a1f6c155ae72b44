package childproc

import (
	"os/exec"
	"testing"
)

func TestStart(t *testing.T) {
	t.Parallel()
	cmd := exec.Command("sleep", "30")
	if err := Start(cmd); err != nil {
		t.Skipf("no sleep here: %v", err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	checkParentDeath(t, cmd)
	if err := Start(exec.Command("/nonexistent/binary")); err == nil {
		t.Fatal("starting a missing binary succeeded")
	}
}
