package childproc

import (
	"os/exec"
	"syscall"
)

// setParentDeath asks the kernel to SIGKILL cmd when its starting thread exits, and
// puts it in its own process group.
func setParentDeath(cmd *exec.Cmd) bool {
	if cmd.SysProcAttr == nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{}
	}
	cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	cmd.SysProcAttr.Setpgid = true
	return true
}
