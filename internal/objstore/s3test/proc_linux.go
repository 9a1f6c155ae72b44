package s3test

import (
	"os/exec"
	"runtime"
	"sync"
	"syscall"
)

// startProcess starts cmd so that the kernel kills it when the test binary dies,
// even without its cleanups (a -timeout panic). Pdeathsig fires when the
// starting thread exits, so every server is started from one thread that
// lives as long as the process.
func startProcess(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the thread never exits
			for req := range spawnReqs {
				req.errc <- req.cmd.Start()
			}
		}()
	})
	req := spawnReq{cmd: cmd, errc: make(chan error, 1)}
	spawnReqs <- req
	return <-req.errc
}

var (
	spawnOnce sync.Once
	spawnReqs chan spawnReq
)

type spawnReq struct {
	cmd  *exec.Cmd
	errc chan error
}
