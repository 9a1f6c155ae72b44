package robustness

import (
	"os/exec"
	"syscall"
)

// setParentDeath kills the subprocess when the test binary dies, even by a panic of
// -timeout, so no worker outlives the tests.
func setParentDeath(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
