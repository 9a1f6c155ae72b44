package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gabriel-vasile/mimetype"
)

// Defaults for the zero Config.
const (
	DefaultMaxSize       = 300 << 20
	DefaultHeaderTimeout = 8 * time.Second // the Upload API's own limit for URL sources
	DefaultMaxRedirects  = 5
	DefaultRetryInitial  = 500 * time.Millisecond
	DefaultRetryMax      = 10 * time.Second
	DefaultRetryElapsed  = 60 * time.Second
	DefaultUserAgent     = "ikq"
	DefaultIdleTimeout   = 30 * time.Second
	DefaultMinRate       = 8 << 10 // bytes per second
	DefaultRateWindow    = 30 * time.Second
	DefaultHostWait      = 2 * time.Second
	DefaultHostFast      = time.Second
)

// sniffLen is how many leading bytes content sniffing looks at: mimetype's own
// read limit.
const sniffLen = 3072

// Config configures an Opener. Its zero value means every default; a zero or
// negative field means that field's default, except MaxRedirects, IdleTimeout,
// MinRate and HostLimit.
type Config struct {
	// MaxSize is the byte cap, enforced while streaming. Default 300 MiB.
	MaxSize int64
	// HeaderTimeout bounds the wait for an http(s) response's headers, redirects
	// included; the body then streams for as long as the caller's ctx allows.
	// Default 8s, the Upload API's own limit.
	HeaderTimeout time.Duration
	// MaxRedirects is how many redirects an http(s) fetch follows. Default 5;
	// negative follows none.
	MaxRedirects int
	// FileRoot is the directory under which file:// sources are allowed, symlinks
	// resolved. "" refuses file://.
	FileRoot string
	// HTTPClient fetches http(s) sources. Default: a client on a clone of
	// http.DefaultTransport; give a netguard client to refuse private addresses
	// (its refusal is a permanent KindForbidden). The Opener uses a shallow copy with its own
	// CheckRedirect; a Timeout set here would cut long bodies, so leave it zero.
	HTTPClient *http.Client
	// RetryInitial, RetryMax and RetryElapsed shape the exponential backoff, with
	// jitter, between tries to open an http(s) source within one job attempt:
	// the first wait, the longest wait, and the total time after which the
	// Opener gives up. Defaults 500ms, 10s, 60s.
	RetryInitial time.Duration
	RetryMax     time.Duration
	RetryElapsed time.Duration
	// Sleep waits between tries. It is the backoff's clock: the elapsed time is
	// the time spent trying plus the waits Sleep was asked for, so a Sleep that
	// returns at once makes tests of backoff run in milliseconds. Default: a
	// timer, or ctx.Done.
	Sleep func(ctx context.Context, d time.Duration) error
	// UserAgent is sent with http(s) requests. Default "ikq".
	UserAgent string

	// IdleTimeout is the longest one read of a source's Body may wait without a
	// byte; then the read fails with a retryable KindTimeout. It applies to every
	// source, object stores included. Default 30s; negative: no limit.
	IdleTimeout time.Duration
	// MinRate is the slowest a source's Body may deliver, in bytes per second of
	// time spent waiting on the source, averaged over about RateWindow: time the
	// caller spends between reads does not count. A slower source fails its read
	// with a retryable KindTimeout. Default 8 KiB/s; negative: no limit.
	MinRate int64
	// RateWindow is the span MinRate is averaged over, and the grace a source
	// gets before it is measured. Default 30s.
	RateWindow time.Duration
	// HostLimit is how many http(s) sources of one site (a registrable domain
	// such as example.com with all its subdomains, or an IP address) may be open
	// at once: from the first request until the Body is closed, backoff between
	// tries included. 0 means no limit.
	HostLimit int
	// HostWait is how long Open waits for one of the site's HostLimit places
	// before it fails with ErrHostBusy. Default 2s.
	HostWait time.Duration
	// HostFast: a site whose last source kept its reader waiting less than this
	// in all (the response's headers and the time inside Read) is fast, and may
	// open sources past HostLimit for the next 10 s: the limit holds slow sites
	// back, not a migration from one fast server. Default 1s; negative: the limit
	// holds for every site.
	HostFast time.Duration
}

func (c Config) withDefaults() Config {
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	if c.HeaderTimeout <= 0 {
		c.HeaderTimeout = DefaultHeaderTimeout
	}
	if c.MaxRedirects == 0 {
		c.MaxRedirects = DefaultMaxRedirects
	} else if c.MaxRedirects < 0 {
		c.MaxRedirects = 0
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	if c.RetryInitial <= 0 {
		c.RetryInitial = DefaultRetryInitial
	}
	if c.RetryMax <= 0 {
		c.RetryMax = DefaultRetryMax
	}
	if c.RetryElapsed <= 0 {
		c.RetryElapsed = DefaultRetryElapsed
	}
	if c.Sleep == nil {
		c.Sleep = sleep
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.IdleTimeout == 0 {
		c.IdleTimeout = DefaultIdleTimeout
	}
	if c.MinRate == 0 {
		c.MinRate = DefaultMinRate
	}
	if c.RateWindow <= 0 {
		c.RateWindow = DefaultRateWindow
	}
	if c.HostWait <= 0 {
		c.HostWait = DefaultHostWait
	}
	if c.HostFast == 0 {
		c.HostFast = DefaultHostFast
	}
	return c
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return context.Cause(ctx)
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}

// OpenFunc opens the sources of one URL scheme. It returns a Source whose Body
// is the raw stream: Open adds the size cap, the content sniffing and the
// defaults. Failures should be *Error; Open classifies any other error
// (fs.ErrNotExist as KindNotFound, fs.ErrPermission as KindForbidden, anything
// else as a retryable KindUnavailable).
type OpenFunc func(ctx context.Context, u *url.URL) (*Source, error)

// Source is an opened source. The caller must Close its Body.
type Source struct {
	// Body is the content. Reading past Config.MaxSize fails with an error
	// wrapping ErrTooLarge, after exactly MaxSize bytes; reads stop when the
	// ctx given to Open ends.
	Body io.ReadCloser
	// Name is the base name from the Content-Disposition filename, the final
	// URL's last path segment, or the file path; "" if none.
	Name string
	// Size is the length in bytes, -1 when unknown.
	Size int64
	// ContentType is a media type without parameters: the one the source
	// declared, unless it declared none or application/octet-stream, in which
	// case the one sniffed from the first bytes, else application/octet-stream.
	ContentType string
	// Attempts is how many tries opening took.
	Attempts int
}

// Opener opens sources by reference. It is safe for concurrent use.
type Opener struct {
	cfg   Config
	http  *http.Client
	hosts hostSlots

	mu      sync.RWMutex
	schemes map[string]OpenFunc
}

// New returns an Opener for http, https and file URLs and inline content.
func New(cfg Config) *Opener {
	cfg = cfg.withDefaults()
	o := &Opener{cfg: cfg, hosts: hostSlots{limit: cfg.HostLimit, wait: cfg.HostWait, fast: max(cfg.HostFast, 0)}}
	client := *cfg.HTTPClient
	client.CheckRedirect = o.checkRedirect
	o.http = &client
	o.schemes = map[string]OpenFunc{
		"http":  o.openHTTP,
		"https": o.openHTTP,
		"file":  o.openFile,
	}
	return o
}

// Register makes Open hand URLs of scheme to f, replacing any earlier opener of
// that scheme, built-in ones included. Schemes are case-insensitive. It panics
// on an empty scheme or a nil f, as http.Handle does.
func (o *Opener) Register(scheme string, f OpenFunc) {
	if !validScheme(scheme) {
		panic(fmt.Sprintf("source: Register: invalid scheme %q", scheme))
	}
	if f == nil {
		panic("source: Register: nil OpenFunc")
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	o.schemes[strings.ToLower(scheme)] = f
}

func (o *Opener) lookup(scheme string) OpenFunc {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.schemes[strings.ToLower(scheme)]
}

// Open opens ref: a URL of a registered scheme (http, https and file built in),
// a data: URI with base64 content, or plain base64 text (anything without a
// colon). Failures are *Error.
func (o *Opener) Open(ctx context.Context, ref string) (*Source, error) {
	if ctx.Err() != nil {
		return nil, ctxError(ctx, ref)
	}
	ref = strings.TrimSpace(ref)
	if ref == "" {
		return nil, permanent(KindInvalid, ref, errors.New("empty source"))
	}
	// The source reads under a context of its own, which its Body's pacing ends
	// when the source stalls (and Close ends anyway).
	sctx, stop := context.WithCancelCause(ctx)
	var (
		src *Source
		err error
	)
	switch {
	case hasPrefixFold(ref, "data:"):
		src, err = o.openDataURI(ref)
	case !strings.Contains(ref, ":"):
		src, err = o.openBase64(ref)
	default:
		u, perr := url.Parse(ref)
		var f OpenFunc
		if perr == nil {
			f = o.lookup(u.Scheme)
		}
		switch {
		case perr != nil:
			// perr quotes ref whole; say only what is wrong with it.
			err = permanent(KindInvalid, ref, errors.New("not a valid URL"))
		case f == nil:
			err = permanent(KindInvalid, ref, fmt.Errorf("unsupported source scheme %q", u.Scheme))
		default:
			src, err = f(sctx, u)
			if err == nil && (src == nil || src.Body == nil) {
				err = fmt.Errorf("opener for scheme %q returned no body", u.Scheme)
			}
		}
	}
	if err != nil {
		stop(nil)
		return nil, classify(ctx, ref, err)
	}
	return o.finish(ctx, ref, src, stop)
}

// finish applies what every source gets: the size check, the pacing, content
// sniffing, the cap and the defaults. stop ends the context the source reads
// under.
func (o *Opener) finish(ctx context.Context, ref string, src *Source, stop context.CancelCauseFunc) (*Source, error) {
	out := *src
	if out.Attempts < 1 {
		out.Attempts = 1
	}
	closer := &stopCloser{c: src.Body, stop: stop}
	if out.Size > o.cfg.MaxSize {
		_ = closer.Close()
		e := permanent(KindTooLarge, ref, fmt.Errorf("%d bytes, over the limit of %d", out.Size, o.cfg.MaxSize))
		e.Attempts = out.Attempts
		return nil, e
	}
	r := newPacedBody(src.Body, stop, Redact(ref), o.cfg.IdleTimeout, o.cfg.MinRate, o.cfg.RateWindow)
	out.ContentType = mediaType(out.ContentType)
	if out.ContentType == "" || out.ContentType == "application/octet-stream" {
		var head []byte
		head, r = peek(r, sniffLen)
		out.ContentType = "application/octet-stream"
		if len(head) > 0 {
			out.ContentType = mediaType(mimetype.Detect(head).String())
		}
	}
	out.Body = newCappedBody(ctx, r, closer, Redact(ref), o.cfg.MaxSize, out.Attempts)
	return &out, nil
}

// stopCloser closes a source's body, then ends the context it read under.
type stopCloser struct {
	c    io.Closer
	stop context.CancelCauseFunc
}

func (s *stopCloser) Close() error {
	err := s.c.Close()
	s.stop(nil)
	return err
}

// mediaType returns the media type of a Content-Type value, lower case and
// without parameters, or "" if it has none.
func mediaType(v string) string {
	if v == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(v)
	if err != nil {
		// Unparseable parameters still leave a usable type before the ';'.
		mt, _, _ = strings.Cut(v, ";")
		mt = strings.ToLower(strings.TrimSpace(mt))
		if t, _, err := mime.ParseMediaType(mt); err != nil || t != mt {
			return ""
		}
	}
	if !strings.Contains(mt, "/") {
		return ""
	}
	return mt
}
