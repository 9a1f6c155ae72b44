// Package redisproc runs private redis-server processes on loopback ports: for tests
// (internal/redistest builds on it) and for `ikq dev`. It has no dependency on package
// testing.
//
//	p, err := redisproc.Start(redisproc.Options{}) // redis-server from PATH, a free port
//	if err != nil {
//		return err // says why, with the tail of the server's output
//	}
//	defer p.Stop()
//	rdb := redis.NewClient(&redis.Options{Addr: p.Addr()})
//
// A server started by Start is ready: it has answered PING (the process itself, not
// another server that held the port). It keeps nothing on disk (no RDB, no AOF) and
// has 16 databases unless Options says otherwise.
//
// # Lifetime
//
// Stop sends SIGTERM and, after 10s, SIGKILL; Kill sends SIGKILL at once, as a crash
// would. Done is closed when the process exits
// for any reason, Err is then its exit status and Log the tail of its output:
//
//	select {
//	case <-p.Done():
//		return fmt.Errorf("redis-server exited: %v\n%s", p.Err(), p.Log())
//	case <-ctx.Done():
//		p.Stop()
//	}
//
// On Linux every server is started from one OS thread that lives as long as the
// calling process, with a parent-death signal, so servers die with the process even
// when it is killed. Elsewhere they outlive a killed process: call Stop.
//
// # Restarting on the same port
//
// To simulate an outage, Stop a server, hold its port with ReservePort (clients are
// refused and no one else gets the port), then Close the reservation and Start again
// with Options.Port set.
package redisproc
