package source

import (
	"context"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/publicsuffix"
)

// hostSlots caps the http(s) sources open at once per site, so that one slow
// site cannot hold every slot of a worker. A site is a registrable domain
// (a.example.com and b.example.com are example.com; the public suffix list
// keeps bucket.s3.amazonaws.com apart from other buckets), or an IP address:
// naming the same server under many subdomains does not multiply its share.
// Hosts are the jobs' to name: an entry lives only while a source of its site
// is open or waiting.
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
	host = siteOf(host)
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
			return nil, fmt.Errorf("%w: %d sources of %s are open, the most one site may have", ErrHostBusy, s.limit, host)
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

// siteOf is the key a host's sources are counted under: its registrable domain,
// or the host itself when it has none (an IP address, localhost, a public
// suffix).
func siteOf(host string) string {
	host = strings.TrimSuffix(strings.ToLower(host), ".")
	if _, err := netip.ParseAddr(host); err == nil {
		return host
	}
	if site, err := publicsuffix.EffectiveTLDPlusOne(host); err == nil {
		return site
	}
	return host
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
