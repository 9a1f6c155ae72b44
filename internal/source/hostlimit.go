package source

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// hostSlots caps the http(s) sources open at once per host, so that one slow
// host cannot hold every slot of a worker. Hosts are the jobs' to name: an
// entry lives only while a source of its host is open or waiting.
type hostSlots struct {
	limit int // 0: no limit
	wait  time.Duration

	mu    sync.Mutex
	hosts map[string]*hostSlot
}

type hostSlot struct {
	sem  chan struct{}
	refs int // holders and waiters
}

// acquire takes one of host's places, waiting at most s.wait. The release it
// returns gives the place back; call it once.
func (s *hostSlots) acquire(ctx context.Context, host string) (release func(), err error) {
	if s.limit <= 0 {
		return func() {}, nil
	}
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	s.mu.Lock()
	if s.hosts == nil {
		s.hosts = map[string]*hostSlot{}
	}
	e := s.hosts[host]
	if e == nil {
		e = &hostSlot{sem: make(chan struct{}, s.limit)}
		s.hosts[host] = e
	}
	e.refs++
	s.mu.Unlock()
	drop := func() {
		s.mu.Lock()
		if e.refs--; e.refs == 0 {
			delete(s.hosts, host)
		}
		s.mu.Unlock()
	}
	select {
	case e.sem <- struct{}{}:
	default:
		t := time.NewTimer(s.wait)
		defer t.Stop()
		select {
		case e.sem <- struct{}{}:
		case <-t.C:
			drop()
			return nil, fmt.Errorf("%w: %d sources of %s are open, the most one host may have", ErrHostBusy, s.limit, host)
		case <-ctx.Done():
			drop()
			return nil, context.Cause(ctx)
		}
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			<-e.sem
			drop()
		})
	}, nil
}

// releaseBody gives a host's place back when the body is closed.
type releaseBody struct {
	io.ReadCloser
	release func()
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release()
	return err
}
