package childproc

import (
	"os/exec"
	"testing"
)

func checkParentDeath(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if cmd.SysProcAttr == nil || cmd.SysProcAttr.Pdeathsig == 0 || !cmd.SysProcAttr.Setpgid {
		t.Fatalf("SysProcAttr = %+v, want a parent-death signal and its own group", cmd.SysProcAttr)
	}
}
