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
// is open or waiting, or for the fastFor that its last quick source lets it past
// the cap.
//
// The cap is for slow sites. A site whose last source kept its caller waiting
// less than fast in all (for the response's headers and inside the body's
// reads) may open more, for fastFor after that: a migration from one fast
// server uses every slot, while a site that turns slow is held to the cap again
// as soon as its sources stop coming back quickly.
type hostSlots struct {
	limit int           // 0: no limit
	wait  time.Duration // how long acquire waits for a place
	fast  time.Duration // 0: a site is never fast

	mu     sync.Mutex
	hosts  map[string]*hostSlot
	purged time.Time // when entries kept only for their fastUntil were last dropped
}

// fastFor is how long a source that came back quickly lets its site past the cap.
const fastFor = 10 * time.Second

type hostSlot struct {
	open      int // holders
	refs      int // holders and waiters
	fastUntil time.Time
	freed     chan struct{} // closed, and replaced, when a holder leaves
}

// noVerdict is the waited time of a source that failed to open: it says nothing
// of the site's speed.
const noVerdict time.Duration = -1

// acquire takes one of host's places, waiting at most s.wait. The release it
// returns gives the place back with the time the source kept its caller waiting
// (noVerdict when it did not open); call it once.
func (s *hostSlots) acquire(ctx context.Context, host string) (release func(waited time.Duration), err error) {
	if s.limit <= 0 {
		return func(time.Duration) {}, nil
	}
	host = siteOf(host)
	s.mu.Lock()
	if s.hosts == nil {
		s.hosts = map[string]*hostSlot{}
	}
	e := s.hosts[host]
	if e == nil {
		s.purge()
		e = &hostSlot{freed: make(chan struct{})}
		s.hosts[host] = e
	}
	e.refs++
	var timer *time.Timer
	for e.open >= s.limit && !time.Now().Before(e.fastUntil) {
		freed := e.freed
		s.mu.Unlock()
		if timer == nil {
			timer = time.NewTimer(s.wait)
			defer timer.Stop()
		}
		select {
		case <-freed:
		case <-timer.C:
			s.drop(host, e)
			return nil, fmt.Errorf("%w: %d sources of %s are open, the most one slow site may have", ErrHostBusy, s.limit, host)
		case <-ctx.Done():
			s.drop(host, e)
			return nil, context.Cause(ctx)
		}
		s.mu.Lock()
	}
	e.open++
	s.mu.Unlock()
	var once sync.Once
	return func(waited time.Duration) {
		once.Do(func() {
			s.mu.Lock()
			e.open--
			switch {
			case waited == noVerdict:
			case s.fast > 0 && waited < s.fast:
				e.fastUntil = time.Now().Add(fastFor)
			default:
				e.fastUntil = time.Time{}
			}
			close(e.freed)
			e.freed = make(chan struct{})
			s.mu.Unlock()
			s.drop(host, e)
		})
	}, nil
}

// drop lets go of host's entry: it goes when no source holds or waits for it,
// unless the site is fast (purge drops it later).
func (s *hostSlots) drop(host string, e *hostSlot) {
	s.mu.Lock()
	if e.refs--; e.refs == 0 && !time.Now().Before(e.fastUntil) {
		delete(s.hosts, host)
	}
	s.mu.Unlock()
}

// purge drops, at most once every fastFor, the entries that no source holds or
// waits for and whose fastUntil has passed. Call it with s.mu held.
func (s *hostSlots) purge() {
	now := time.Now()
	if now.Sub(s.purged) < fastFor {
		return
	}
	s.purged = now
	for host, e := range s.hosts {
		if e.refs == 0 && !now.Before(e.fastUntil) {
			delete(s.hosts, host)
		}
	}
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

// releaseBody gives a host's place back when the body is closed, with the time
// the source kept its reader waiting: waited so far (the response's headers) and
// the time spent inside Read.
type releaseBody struct {
	io.ReadCloser
	release func(time.Duration)
	waited  time.Duration
}

func (b *releaseBody) Read(p []byte) (int, error) {
	start := time.Now()
	n, err := b.ReadCloser.Read(p)
	b.waited += time.Since(start)
	return n, err
}

func (b *releaseBody) Close() error {
	err := b.ReadCloser.Close()
	b.release(b.waited)
	return err
}
