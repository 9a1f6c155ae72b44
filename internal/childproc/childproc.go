// Package childproc starts helper processes (redis-server, versitygw, ikq workers in
// tests) that die with the process that started them, even when it is killed before
// it can stop them.
//
//	cmd := exec.Command("redis-server", "--port", "6390")
//	if err := childproc.Start(cmd); err != nil { ... }
//	defer cmd.Process.Kill()
//
// On Linux the child gets a parent-death signal (SIGKILL) and its own process group,
// so a terminal's Ctrl-C reaches only the parent, which stops its children last. The
// signal is tied to the thread that forked the child, not to the process, so every
// child is started from one goroutine locked to its thread, which never exits.
// Elsewhere Start is cmd.Start.
package childproc

import (
	"os/exec"
	"runtime"
	"sync"
)

// Start starts cmd as a child that dies with this process.
func Start(cmd *exec.Cmd) error {
	if !setParentDeath(cmd) {
		return cmd.Start()
	}
	spawnOnce.Do(func() {
		spawnReqs = make(chan spawnReq)
		go func() {
			runtime.LockOSThread() // never unlocked: the goroutine and its thread never exit
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
