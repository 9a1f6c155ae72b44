package source

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"strconv"
	"strings"

	"github.com/ikq-dev/ikq/internal/redact"
)

// ErrTooLarge is what every size-limit failure wraps, whether Open saw the size
// up front or a Body's Read counted past the limit.
var ErrTooLarge = errors.New("source: larger than the size limit")

// ErrHostBusy is what a KindBusy error matches: the source's site already has
// Config.HostLimit sources open. Nothing was sent; the job may try again soon.
var ErrHostBusy = errors.New("source: too many sources of this host open")

// Kind says what went wrong with a source, in terms a job can act on.
type Kind int

// The kinds of failure. The zero Kind is not used.
const (
	KindNotFound    Kind = iota + 1 // the source does not exist (HTTP 404, 410, a missing file)
	KindTooLarge                    // the source is over Config.MaxSize
	KindForbidden                   // the source may not be read (HTTP 401, 403, outside FileRoot, an address the SSRF guard refuses)
	KindInvalid                     // the reference or the response makes no sense (bad URL, 4xx, too many redirects)
	KindUnavailable                 // the source could not be reached (connection errors, 5xx, 429)
	KindTimeout                     // the source did not answer in time, or stalled while sending
	KindBusy                        // the source's site has Config.HostLimit sources open already
)

func (k Kind) String() string {
	switch k {
	case KindNotFound:
		return "not found"
	case KindTooLarge:
		return "too large"
	case KindForbidden:
		return "forbidden"
	case KindInvalid:
		return "invalid"
	case KindUnavailable:
		return "unavailable"
	case KindTimeout:
		return "timeout"
	case KindBusy:
		return "host busy"
	}
	return "Kind(" + strconv.Itoa(int(k)) + ")"
}

// Error is a classified failure to open or read a source. Retryable says whether
// the job should try again later; the Opener has already retried what it retries
// within one attempt. Its message never holds URL userinfo or query strings.
type Error struct {
	Kind      Kind
	Retryable bool
	Ref       string // the source, redacted (see Redact)
	Status    int    // the HTTP status, when there was a response
	Attempts  int    // how many tries opening took before it failed
	Err       error  // the cause, if any; never a *url.Error (those carry the URL)
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("source ")
	b.WriteString(strconv.Quote(e.Ref))
	b.WriteString(": ")
	b.WriteString(e.Kind.String())
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes every KindTooLarge error match ErrTooLarge, and every KindBusy one
// ErrHostBusy.
func (e *Error) Is(target error) bool {
	return target == ErrTooLarge && e.Kind == KindTooLarge || target == ErrHostBusy && e.Kind == KindBusy
}

// permanent and transient build the two shapes of Error the openers return.
func permanent(kind Kind, ref string, err error) *Error {
	return &Error{Kind: kind, Ref: Redact(ref), Err: err, Attempts: 1}
}

func transient(kind Kind, ref string, err error) *Error {
	return &Error{Kind: kind, Retryable: true, Ref: Redact(ref), Err: err, Attempts: 1}
}

// ctxError reports that the caller's ctx ended: retryable, since the job did not
// fail on its own account. Kind is KindTimeout for a deadline.
func ctxError(ctx context.Context, ref string) *Error {
	cause := context.Cause(ctx)
	if cause == nil {
		cause = context.Canceled
	}
	kind := KindUnavailable
	if errors.Is(cause, context.DeadlineExceeded) {
		kind = KindTimeout
	}
	return transient(kind, ref, cause)
}

// classify turns any error from an OpenFunc into an *Error for ref.
func classify(ctx context.Context, ref string, err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		c := *e
		c.Ref = Redact(ref) // whatever the OpenFunc put there may not be redacted
		if c.Attempts == 0 {
			c.Attempts = 1
		}
		return &c
	}
	if ctx.Err() != nil {
		return ctxError(ctx, ref)
	}
	err = stripURL(err)
	switch {
	case errors.Is(err, ErrTooLarge):
		return permanent(KindTooLarge, ref, err)
	case errors.Is(err, fs.ErrNotExist):
		return permanent(KindNotFound, ref, err)
	case errors.Is(err, fs.ErrPermission):
		return permanent(KindForbidden, ref, err)
	}
	return transient(KindUnavailable, ref, err)
}

// stripURL removes a *url.Error's wrapper, whose message holds the request URL
// with its query string (net/http strips only the password).
func stripURL(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// Redact returns ref fit for errors and logs: inline content (a data: URI, or
// anything without a colon) becomes "inline content (N bytes)"; a URL goes
// through ikq's one redaction policy (redact.URL: no userinfo, secret parameters
// masked, the rest kept so the source stays recognisable).
func Redact(ref string) string {
	if isInline(ref) {
		return fmt.Sprintf("inline content (%d bytes)", len(ref))
	}
	return redact.URL(ref)
}

// isInline says whether ref is inline content rather than a URL. Base64 has no
// colon; every URL has one.
func isInline(ref string) bool {
	return hasPrefixFold(ref, "data:") || !strings.Contains(ref, ":")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// validScheme reports whether s is an RFC 3986 scheme.
func validScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
