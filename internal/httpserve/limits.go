package httpserve

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Defaults of Limits.
const (
	DefaultReadHeaderTimeout = 10 * time.Second
	// DefaultIdleTimeout outlasts the idle timeouts of Go's HTTP clients (90 s) and
	// of common load balancers (60 s), so that they, not the server, close an idle
	// connection, and never while a request is on its way.
	DefaultIdleTimeout    = 2 * time.Minute
	DefaultMaxHeaderBytes = 64 << 10
	DefaultMinRate        = 32 << 10 // bytes a second
	DefaultGrace          = 10 * time.Second
	DefaultStall          = 30 * time.Second
	// maxDefaultConns bounds DefaultMaxConns where the open-file limit is high.
	maxDefaultConns = 4096
	minDefaultConns = 64
)

// Limits bound what one client can hold on a server. Zero values mean the defaults.
type Limits struct {
	// ReadHeaderTimeout bounds reading the request line and headers. Default 10 s.
	ReadHeaderTimeout time.Duration
	// IdleTimeout closes a kept-alive connection that waits this long for its next
	// request. Default 2 min.
	IdleTimeout time.Duration
	// MaxHeaderBytes caps the request line and headers (431 beyond). Default 64 KiB.
	MaxHeaderBytes int
	// MaxConns caps the connections open at once. Default DefaultMaxConns().
	MaxConns int
	// MinRate is the slowest average, in bytes a second, at which a request body is
	// sent or a response read, over the time the server waits on the client.
	// Default 32 KiB/s.
	MinRate int64
	// Grace is the waiting a body or response is allowed before MinRate counts, for
	// its first bytes. Default 10 s.
	Grace time.Duration
	// Stall is the longest the server waits on the client at once, whatever credit
	// MinRate gave it. Default 30 s.
	Stall time.Duration
}

func (l Limits) withDefaults() Limits {
	if l.ReadHeaderTimeout <= 0 {
		l.ReadHeaderTimeout = DefaultReadHeaderTimeout
	}
	if l.IdleTimeout <= 0 {
		l.IdleTimeout = DefaultIdleTimeout
	}
	if l.MaxHeaderBytes <= 0 {
		l.MaxHeaderBytes = DefaultMaxHeaderBytes
	}
	if l.MaxConns <= 0 {
		l.MaxConns = DefaultMaxConns()
	}
	if l.MinRate <= 0 {
		l.MinRate = DefaultMinRate
	}
	if l.Grace <= 0 {
		l.Grace = DefaultGrace
	}
	if l.Stall <= 0 {
		l.Stall = DefaultStall
	}
	return l
}

// DefaultMaxConns is half the process's open-file limit, from 64 to 4096: the
// other half is for Redis, sources and uploads, so that clients alone cannot make
// the process run out of descriptors.
func DefaultMaxConns() int {
	n, ok := openFileLimit()
	if !ok {
		return 1024
	}
	return int(min(max(n/2, minDefaultConns), maxDefaultConns))
}

// newServer returns an http.Server for handler under l, and the listener to serve it
// on: ln capped at l.MaxConns.
func newServer(ln net.Listener, handler http.Handler, l Limits, logger *slog.Logger) (*http.Server, net.Listener) {
	l = l.withDefaults()
	capped := newConnLimiter(ln, l.MaxConns)
	hs := &http.Server{
		Handler:           paced(handler, l),
		ReadHeaderTimeout: l.ReadHeaderTimeout,
		IdleTimeout:       l.IdleTimeout,
		MaxHeaderBytes:    l.MaxHeaderBytes,
		ConnState:         capped.track,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	return hs, capped
}

// Serve runs handler on ln under l until ctx ends, then shuts down gracefully.
func Serve(ctx context.Context, ln net.Listener, handler http.Handler, l Limits, logger *slog.Logger) error {
	hs, capped := newServer(ln, handler, l, logger)
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(capped) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(shutdownCtx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return nil
}
