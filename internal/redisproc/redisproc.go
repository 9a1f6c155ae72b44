package redisproc

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/childproc"
)

const (
	// readyTimeout bounds the wait for a started redis-server to answer PING.
	readyTimeout = 10 * time.Second
	// stopTimeout bounds the wait after SIGTERM before SIGKILL.
	stopTimeout = 10 * time.Second
	// logTail is how much of a server's output is kept for Log and failure messages.
	logTail = 16 << 10
	// freePortTries is how many free ports Start tries when Options.Port is 0.
	freePortTries = 5
	// defaultDatabases is the database count when Options.Databases is 0.
	defaultDatabases = 16
)

// Options for a redis-server process. The zero value means: redis-server from PATH, a
// free loopback port, 16 databases, no persistence, working directory os.TempDir().
type Options struct {
	// Path is the redis-server binary (or a wrapper that execs it); "" is LookPath.
	Path string
	// Port is the port on 127.0.0.1; 0 picks a free one, trying a few in case another
	// process takes the chosen port before the server binds it.
	Port int
	// Databases is the number of databases (SELECT 0..Databases-1); 0 means 16.
	Databases int
	// Dir is the server's working directory. Nothing is persisted, but a stray file
	// lands there rather than in the caller's directory. "" means os.TempDir().
	Dir string
	// Args are extra command-line arguments, after the ones above so that they can
	// override them, e.g. {"--maxmemory", "256mb"}. The server must answer PING
	// without AUTH: no --requirepass.
	Args []string
	// ConfigFile, when set, is read before the arguments. A Sentinel needs one
	// (with Args {"--sentinel"}): it writes its state back there.
	ConfigFile string
}

// LookPath finds redis-server on PATH.
func LookPath() (string, error) { return exec.LookPath("redis-server") }

// Start starts a redis-server on 127.0.0.1 and waits until it answers PING (at most
// 10s). An error that arises once the server has been spawned carries the tail of its
// output. The server is killed with the calling process (Linux: parent-death signal);
// Stop ends it sooner.
func Start(o Options) (*Process, error) {
	if o.Path == "" {
		path, err := LookPath()
		if err != nil {
			return nil, err
		}
		o.Path = path
	}
	if o.Databases == 0 {
		o.Databases = defaultDatabases
	}
	if o.Dir == "" {
		o.Dir = os.TempDir()
	}
	if o.Port < 0 || o.Port > 65535 {
		return nil, fmt.Errorf("redis-server port %d is out of range", o.Port)
	}
	if o.Port != 0 {
		p, _, err := start(o)
		return p, err
	}
	var errs []error
	for range freePortTries {
		port, err := FreePort()
		if err != nil {
			return nil, err
		}
		o.Port = port
		p, spawned, err := start(o)
		if err == nil {
			return p, nil
		}
		errs = append(errs, err)
		if !spawned { // the binary will not start on any port
			break
		}
	}
	return nil, errors.Join(errs...)
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Ping sends PING to the Redis server at addr over a fresh connection (1s deadline).
// It fails unless the answer is PONG.
func Ping(addr string) error {
	reply, err := command(addr, "PING")
	if err != nil {
		return err
	}
	if reply != "PONG" {
		return fmt.Errorf("PING answered %q", reply)
	}
	return nil
}

// Process is one running redis-server, started by Start.
type Process struct {
	cmd  *exec.Cmd
	port int
	addr string
	log  *tailBuffer
	done chan struct{} // closed once the process has exited
	err  error         // the exit status, set before done is closed
}

// Addr is host:port of the server, on 127.0.0.1.
func (p *Process) Addr() string { return p.addr }

// Port is the server's port.
func (p *Process) Port() int { return p.port }

// Done is closed when the process has exited, whether by Stop or not.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is the process's exit status once Done is closed (nil for a clean exit), and
// nil while it runs.
func (p *Process) Err() error {
	select {
	case <-p.done:
		return p.err
	default:
		return nil
	}
}

// Log is the tail (last 16 KiB) of the server's standard output and error.
func (p *Process) Log() string { return p.log.String() }

// Stop sends SIGTERM and waits for the process to exit; SIGKILL if it has not after
// 10s. It returns at once if the process has already exited, and is safe to call
// more than once and concurrently.
func (p *Process) Stop() {
	if p.exited() {
		return
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		_ = p.cmd.Process.Kill() // no SIGTERM (Windows), or it has just exited
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Kill sends SIGKILL and waits for the process to exit, as a crash or a lost host
// ends a server: nothing is flushed, clients see their connections reset. It returns
// at once if the process has already exited.
func (p *Process) Kill() {
	if p.exited() {
		return
	}
	_ = p.cmd.Process.Kill() // an error means it has just exited: Done says when
	<-p.done
}

func (p *Process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// start starts one server on o.Port and waits until it is ready. spawned says whether
// the binary got as far as running (if not, no other port will help).
func start(o Options) (p *Process, spawned bool, err error) {
	var args []string
	if o.ConfigFile != "" {
		args = append(args, o.ConfigFile)
	}
	args = append(args,
		"--port", strconv.Itoa(o.Port),
		"--bind", "127.0.0.1",
		"--save", "",
		"--appendonly", "no",
		"--databases", strconv.Itoa(o.Databases),
		"--dir", o.Dir)
	args = append(args, o.Args...)
	cmd := exec.Command(o.Path, args...) //nolint:gosec // G204: the redis-server binary the caller configured, with arguments built here
	log := &tailBuffer{max: logTail}
	cmd.Stdout = log
	cmd.Stderr = log
	if err := childproc.Start(cmd); err != nil {
		return nil, false, fmt.Errorf("start %s: %w", o.Path, err)
	}
	p = &Process{
		cmd:  cmd,
		port: o.Port,
		addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(o.Port)),
		log:  log,
		done: make(chan struct{}),
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	if err := p.waitReady(o.Path); err != nil {
		p.Stop()
		return nil, true, fmt.Errorf("%w\n--- redis-server log (tail) ---\n%s", err, log.String())
	}
	return p, true, nil
}

// waitReady polls until this process answers PING, exits, or readyTimeout passes.
func (p *Process) waitReady(path string) error {
	deadline := time.Now().Add(readyTimeout)
	var last error
	for time.Now().Before(deadline) {
		if p.exited() {
			status := p.err
			if status == nil {
				status = errors.New("exit status 0")
			}
			return fmt.Errorf("%s on %s exited before it was ready: %w", path, p.addr, status)
		}
		if last = p.answers(); last == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s on %s not ready after %v: %w", path, p.addr, readyTimeout, last)
}

// answers checks that the server on p.addr answers PING and is this process, not
// another redis-server that holds the port (this one then exits for want of it).
func (p *Process) answers() error {
	if err := Ping(p.addr); err != nil {
		return err
	}
	pid, err := serverPID(p.addr)
	if err != nil {
		return err
	}
	if pid != p.cmd.Process.Pid {
		return fmt.Errorf("%s is another redis-server's (pid %d, not %d)", p.addr, pid, p.cmd.Process.Pid)
	}
	return nil
}

// serverPID is the process_id that INFO server reports.
func serverPID(addr string) (int, error) {
	info, err := command(addr, "INFO", "server")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "process_id:"); ok {
			return strconv.Atoi(v)
		}
	}
	return 0, errors.New("INFO server has no process_id")
}

// command sends one command over a fresh connection, without retries (1s deadline),
// and returns its reply as text: a status, an integer or a bulk string.
func command(addr string, args ...string) (string, error) {
	rdb := redis.NewClient(&redis.Options{
		Addr: addr, DialTimeout: 500 * time.Millisecond,
		ReadTimeout: time.Second, WriteTimeout: time.Second,
		MaxRetries: -1, PoolSize: 1,
		Protocol: 2, DisableIdentity: true, // a bare connection: no HELLO, no CLIENT SETINFO
	})
	defer func() { _ = rdb.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	cmd := make([]any, len(args))
	for i, a := range args {
		cmd[i] = a
	}
	reply, err := rdb.Do(ctx, cmd...).Result()
	if err != nil {
		return "", fmt.Errorf("%s: %w", args[0], err)
	}
	switch v := reply.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	}
	return "", fmt.Errorf("%s answered %v", args[0], reply)
}

// tailBuffer keeps the last max bytes written to it.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - b.max; over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}
