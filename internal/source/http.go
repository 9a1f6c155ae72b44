package source

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/ikq-dev/ikq/internal/netguard"
)

var (
	errHeaderTimeout    = errors.New("no response headers in time")
	errTooManyRedirects = errors.New("too many redirects")
	errRedirectScheme   = errors.New("redirected to a URL that is not http or https")
)

// checkRedirect caps redirects. Its errors say nothing of the target URL, which
// may be signed.
func (o *Opener) checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > o.cfg.MaxRedirects {
		return fmt.Errorf("%w (more than %d)", errTooManyRedirects, o.cfg.MaxRedirects)
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return errRedirectScheme
	}
	return nil
}

// openHTTP GETs u within one of its host's places (Config.HostLimit), held
// until the Body is closed.
func (o *Opener) openHTTP(ctx context.Context, u *url.URL) (*Source, error) {
	ref := u.String()
	if u.Host == "" {
		return nil, permanent(KindInvalid, ref, errors.New("URL has no host"))
	}
	release, err := o.hosts.acquire(ctx, u.Hostname())
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctxError(ctx, ref)
		}
		return nil, transient(KindBusy, ref, err)
	}
	opened := time.Now()
	src, err := o.openHTTPTries(ctx, u, ref)
	if err != nil {
		release(noVerdict)
		return nil, err
	}
	src.Body = &releaseBody{ReadCloser: src.Body, release: release, waited: time.Since(opened)}
	return src, nil
}

// openHTTPTries GETs u, retrying transient failures with exponential backoff
// and jitter until RetryElapsed has passed.
func (o *Opener) openHTTPTries(ctx context.Context, u *url.URL, ref string) (*Source, error) {
	clock := &retryClock{sleep: o.cfg.Sleep, start: time.Now()}
	b := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(o.cfg.RetryInitial),
		backoff.WithMaxInterval(o.cfg.RetryMax),
		backoff.WithMaxElapsedTime(o.cfg.RetryElapsed),
		backoff.WithClockProvider(clock),
	)
	for attempt := 1; ; attempt++ {
		src, failure := o.getOnce(ctx, u, ref)
		if failure == nil {
			src.Attempts = attempt
			return src, nil
		}
		e := failure.err
		e.Attempts = attempt
		if ctx.Err() != nil {
			ce := ctxError(ctx, ref)
			ce.Attempts = attempt
			return nil, ce
		}
		if !e.Retryable {
			return nil, e
		}
		if failure.tries > 0 && attempt >= failure.tries {
			e.Retryable = false
			return nil, e
		}
		wait := b.NextBackOff()
		if wait == backoff.Stop {
			return nil, e
		}
		if failure.retryAfter >= 0 {
			wait = min(failure.retryAfter, o.cfg.RetryMax)
			if clock.elapsed()+wait > o.cfg.RetryElapsed {
				return nil, e
			}
		}
		if err := clock.wait(ctx, wait); err != nil || ctx.Err() != nil {
			ce := ctxError(ctx, ref)
			ce.Attempts = attempt
			return nil, ce
		}
	}
}

// failure is one try's error, with the server's Retry-After (-1 if none) and,
// when tries is set, how many tries such an error gets before it is permanent.
type failure struct {
	err        *Error
	retryAfter time.Duration
	tries      int
}

// noSuchHostTries is how many times a host the DNS says does not exist is
// looked up: twice, in case the first answer was a resolver's passing hiccup,
// not for a whole RetryElapsed.
const noSuchHostTries = 2

// noSuchHost is a DNS answer that the host does not exist. Its message leaves
// out the resolver's address, which is the worker's network's business.
type noSuchHost struct{ err *net.DNSError }

func (e *noSuchHost) Error() string { return "no such host " + strconv.Quote(e.err.Name) }
func (e *noSuchHost) Unwrap() error { return e.err }

func fail(e *Error) *failure { return &failure{err: e, retryAfter: -1} }

// getOnce makes one GET. The response headers must arrive within HeaderTimeout:
// a timer cancels the request's context until then, and is stopped once they
// have, so the body streams under the caller's ctx alone.
func (o *Opener) getOnce(ctx context.Context, u *url.URL, ref string) (*Source, *failure) {
	rctx, cancel := context.WithCancelCause(ctx)
	timer := time.AfterFunc(o.cfg.HeaderTimeout, func() { cancel(errHeaderTimeout) })
	req, err := http.NewRequestWithContext(rctx, http.MethodGet, u.String(), nil)
	if err != nil {
		timer.Stop()
		cancel(nil)
		return nil, fail(permanent(KindInvalid, ref, errors.New("not a valid request URL")))
	}
	req.Header.Set("User-Agent", o.cfg.UserAgent)
	resp, err := o.http.Do(req)
	inTime := timer.Stop()
	if err == nil && !inTime {
		// The headers came as the timer fired: the context is gone, and the body
		// with it.
		_ = resp.Body.Close()
		err = context.Cause(rctx)
	}
	if err != nil {
		cancel(nil)
		f := fail(o.requestError(ctx, rctx, ref, err))
		var nsh *noSuchHost
		if errors.As(f.err, &nsh) {
			f.tries = noSuchHostTries
		}
		return nil, f
	}
	body := &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	if f := statusFailure(resp, ref); f != nil {
		_ = body.Close()
		return nil, f
	}
	if resp.ContentLength > o.cfg.MaxSize {
		_ = body.Close() // unread: closing drops the connection rather than reading it
		e := permanent(KindTooLarge, ref, fmt.Errorf("Content-Length %d is over the limit of %d bytes", resp.ContentLength, o.cfg.MaxSize))
		e.Status = resp.StatusCode
		return nil, fail(e)
	}
	return &Source{
		Body:        body,
		Name:        responseName(resp),
		Size:        resp.ContentLength,
		ContentType: resp.Header.Get("Content-Type"),
	}, nil
}

// requestError classifies an error from Client.Do.
func (o *Opener) requestError(ctx, rctx context.Context, ref string, err error) *Error {
	if ctx.Err() != nil {
		return ctxError(ctx, ref)
	}
	if errors.Is(context.Cause(rctx), errHeaderTimeout) {
		return transient(KindTimeout, ref, fmt.Errorf("no response headers within %s", o.cfg.HeaderTimeout))
	}
	err = stripURL(err)
	var (
		unknownCA x509.UnknownAuthorityError
		invalid   x509.CertificateInvalidError
		hostname  x509.HostnameError
		verify    *tls.CertificateVerificationError
		netErr    net.Error
		refused   *netguard.RefusedError
		dnsErr    *net.DNSError
	)
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		// Retried once only (noSuchHostTries), then permanent.
		return transient(KindNotFound, ref, &noSuchHost{dnsErr})
	case errors.As(err, &refused):
		// The SSRF guard's refusal, without the *net.OpError around it, whose
		// message holds the private address the host resolved to.
		return permanent(KindForbidden, ref, refused)
	case errors.Is(err, errTooManyRedirects), errors.Is(err, errRedirectScheme):
		return permanent(KindInvalid, ref, err)
	case errors.As(err, &unknownCA), errors.As(err, &invalid), errors.As(err, &hostname), errors.As(err, &verify):
		// A certificate that does not verify will not within the next minute.
		return permanent(KindInvalid, ref, fmt.Errorf("TLS: %w", err))
	case errors.As(err, &netErr) && netErr.Timeout():
		return transient(KindTimeout, ref, err)
	}
	return transient(KindUnavailable, ref, err)
}

// statusFailure classifies a response status; nil means 2xx.
func statusFailure(resp *http.Response, ref string) *failure {
	code := resp.StatusCode
	var f *failure
	switch {
	case code >= 200 && code <= 299:
		return nil
	case code == http.StatusNotFound, code == http.StatusGone:
		f = fail(permanent(KindNotFound, ref, nil))
	case code == http.StatusUnauthorized, code == http.StatusForbidden:
		f = fail(permanent(KindForbidden, ref, nil))
	case code == http.StatusRequestTimeout:
		f = fail(transient(KindTimeout, ref, nil))
	case code == http.StatusTooManyRequests, code >= 500:
		f = fail(transient(KindUnavailable, ref, nil))
		if code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable {
			f.retryAfter = retryAfter(resp.Header.Get("Retry-After"))
		}
	default:
		// Other 4xx, and 3xx not followed (304, or no Location).
		f = fail(permanent(KindInvalid, ref, nil))
	}
	f.err.Status = code
	return f
}

// retryAfter parses a Retry-After header, in seconds or as an HTTP date; -1 if
// absent or unreadable.
func retryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return -1
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return -1
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(time.Until(t), 0)
	}
	return -1
}

// responseName is the Content-Disposition filename, else the final URL's last
// path segment, unescaped; "" if neither names anything.
func responseName(resp *http.Response) string {
	if cd := resp.Header.Get("Content-Disposition"); cd != "" {
		if _, params, err := mime.ParseMediaType(cd); err == nil {
			if n := baseName(params["filename"]); n != "" {
				return n
			}
		}
	}
	if resp.Request == nil || resp.Request.URL == nil {
		return ""
	}
	p := resp.Request.URL.EscapedPath()
	seg := p[strings.LastIndexByte(p, '/')+1:]
	if s, err := url.PathUnescape(seg); err == nil {
		seg = s
	}
	return baseName(seg)
}

// baseName keeps the last element of a name that may carry a path (either
// separator), and refuses names that are no file's.
func baseName(s string) string {
	s = strings.TrimSpace(s[strings.LastIndexAny(s, `/\`)+1:])
	if s == "." || s == ".." || strings.ContainsRune(s, 0) {
		return ""
	}
	return s
}

// cancelBody ends the request's context when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelCauseFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel(nil)
	return err
}

// retryClock is the backoff's clock: real time spent trying plus the waits that
// Config.Sleep was asked for, so elapsed time is right whether Sleep really
// sleeps or, in tests, returns at once.
type retryClock struct {
	sleep func(context.Context, time.Duration) error
	start time.Time
	asked time.Duration // waits requested
	slept time.Duration // real time spent in sleep
}

func (c *retryClock) Now() time.Time { return c.start.Add(c.elapsed()) }

func (c *retryClock) elapsed() time.Duration {
	return time.Since(c.start) - c.slept + c.asked
}

func (c *retryClock) wait(ctx context.Context, d time.Duration) error {
	t0 := time.Now()
	err := c.sleep(ctx, d)
	c.slept += time.Since(t0)
	c.asked += d
	return err
}
