package worker

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/source"
)

func TestClassify(t *testing.T) {
	t.Parallel()
	const tooMany = "You have sent too many requests to update the file recently. Please try again later."
	const urlFailed = "Your request contains invalid file parameter. The file could not be downloaded from the URL."
	ik := func(status int, msg string) *imagekit.Error { return &imagekit.Error{Status: status, Message: msg} }
	cases := []struct {
		name       string
		err        error
		remote     bool
		kind       kind
		code       string
		httpStatus int
		wait       time.Duration
		message    string // "" means err's own message is not checked
	}{
		{"500", ik(500, "Internal server error. Please try again."), false, transient, "imagekit_unavailable", 500, 0, "Internal server error. Please try again."},
		{"502", ik(502, "Bad Gateway"), false, transient, "imagekit_unavailable", 502, 0, ""},
		{"503", ik(503, "Service temporarily unavailable."), false, transient, "imagekit_unavailable", 503, 0, ""},
		{"wrapped 500", fmt.Errorf("attempt: %w", ik(500, "x")), false, transient, "imagekit_unavailable", 500, 0, "x"},
		{"429 no headers", ik(429, "Too many requests."), false, throttled, "throttled", 429, minThrottleWait, ""},
		{"429 rate-limit reset", &imagekit.Error{Status: 429, Message: "Too many requests.", RateLimit: &imagekit.RateLimit{Reset: 1500 * time.Millisecond}}, false, throttled, "throttled", 429, 1500 * time.Millisecond, ""},
		{"429 retry-after longer than reset", &imagekit.Error{Status: 429, Message: "Too many requests.", RetryAfter: 3 * time.Second, RateLimit: &imagekit.RateLimit{Reset: time.Second}}, false, throttled, "throttled", 429, 3 * time.Second, ""},
		{"429 short reset raised to the minimum", &imagekit.Error{Status: 429, Message: "Too many requests.", RateLimit: &imagekit.RateLimit{Reset: 10 * time.Millisecond}}, false, throttled, "throttled", 429, minThrottleWait, ""},
		{"400 too many requests recently", ik(400, tooMany), false, throttled, "throttled", 400, minThrottleWait, tooMany},
		{"400 url download, remote", ik(400, urlFailed), true, transient, "remote_fetch_failed", 400, 0, urlFailed},
		{"400 url download, worker fetch", ik(400, urlFailed), false, permanent, "imagekit_rejected", 400, 0, urlFailed},
		{"400 url timeout, remote", ik(400, "Your request contains invalid file parameter. The file URL did not respond within 8 seconds."), true, transient, "remote_fetch_failed", 400, 0, ""},
		{"400 rejected", ik(400, "Invalid custom metadata."), false, permanent, "imagekit_rejected", 400, 0, "Invalid custom metadata."},
		{"400 conflict", ik(400, "A file with the same name already exists at the exact location."), false, permanent, "imagekit_rejected", 400, 0, ""},
		{"401", ik(401, "Your account cannot be authenticated."), false, permanent, "imagekit_auth", 401, 0, ""},
		{"403", ik(403, "Forbidden"), false, permanent, "imagekit_auth", 403, 0, ""},
		{"404", ik(404, "Not Found"), false, permanent, "imagekit_rejected", 404, 0, ""},
		{"408", ik(408, "Request Timeout"), false, transient, "imagekit_timeout", 408, 0, ""},
		{"413", ik(413, "Payload Too Large"), false, permanent, "imagekit_rejected", 413, 0, ""},

		{"source not found", &source.Error{Kind: source.KindNotFound, Status: 404}, false, permanent, "source_not_found", 404, 0, ""},
		{"source forbidden", &source.Error{Kind: source.KindForbidden, Status: 403}, false, permanent, "source_forbidden", 403, 0, ""},
		{"source invalid", &source.Error{Kind: source.KindInvalid}, false, permanent, "source_invalid", 0, 0, ""},
		{"source too large", &source.Error{Kind: source.KindTooLarge}, false, permanent, "source_too_large", 0, 0, ""},
		{"source unavailable", &source.Error{Kind: source.KindUnavailable, Retryable: true, Status: 503}, false, transient, "source_unavailable", 503, 0, ""},
		{"source timeout", &source.Error{Kind: source.KindTimeout, Retryable: true}, false, transient, "source_timeout", 0, 0, ""},
		{"source host busy", &source.Error{Kind: source.KindBusy, Retryable: true}, false, throttled, "source_host_busy", 0, hostBusyWait, ""},
		{"source error while streaming", fmt.Errorf("imagekit: upload: reading file: %w", &source.Error{Kind: source.KindTooLarge}), false, permanent, "source_too_large", 0, 0, ""},
		{"bare too large", fmt.Errorf("reading: %w", source.ErrTooLarge), false, permanent, "source_too_large", 0, 0, ""},

		{"deadline", fmt.Errorf("imagekit: upload: %w", context.DeadlineExceeded), false, transient, "timeout", 0, 0, ""},
		{"canceled by producer", errCanceledByProducer, false, canceled, "canceled", 0, 0, ""},
		{"canceled by producer, wrapped", fmt.Errorf("reading file: %w", errCanceledByProducer), false, canceled, "canceled", 0, 0, ""},
		{"anything else", errors.New("connection reset by peer"), false, transient, "upload_failed", 0, 0, "connection reset by peer"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := classify(c.err, c.remote)
			if f.kind != c.kind || f.code != c.code || f.httpStatus != c.httpStatus || f.wait != c.wait {
				t.Errorf("classify = {kind %d, code %q, httpStatus %d, wait %s}, want {kind %d, code %q, httpStatus %d, wait %s}",
					f.kind, f.code, f.httpStatus, f.wait, c.kind, c.code, c.httpStatus, c.wait)
			}
			if c.message != "" && f.message != c.message {
				t.Errorf("message %q, want %q", f.message, c.message)
			}
			if f.message == "" {
				t.Error("empty message")
			}
			if f.err != c.err { //nolint:errorlint // the very error classified, not one wrapping it
				t.Errorf("err %v, want the classified error kept", f.err)
			}
		})
	}
}

// Error codes are identifiers: every source kind's code is source_ and words joined
// by underscores.
func TestSourceCodesAreIdentifiers(t *testing.T) {
	t.Parallel()
	ident := regexp.MustCompile(`^source_[a-z]+(_[a-z]+)*$`)
	for k := source.KindNotFound; k <= source.KindBusy; k++ {
		f := classify(&source.Error{Kind: k}, false)
		if !ident.MatchString(f.code) {
			t.Errorf("kind %s: code %q is not an identifier", k, f.code)
		}
	}
}

func TestRetryDelay(t *testing.T) {
	t.Parallel()
	const base, most = 100 * time.Millisecond, time.Second
	low := func(int64) int64 { return 0 }
	high := func(n int64) int64 { return n - 1 } // rand(n) is in [0, n)
	cases := []struct {
		n    int
		full time.Duration // the delay before jitter
	}{
		{0, 100 * time.Millisecond},
		{1, 200 * time.Millisecond},
		{2, 400 * time.Millisecond},
		{3, 800 * time.Millisecond},
		{4, most},
		{5, most},
		{62, most}, // no overflow
		{1000, most},
	}
	for _, c := range cases {
		if got := retryDelay(c.n, base, most, low); got != c.full/2 {
			t.Errorf("retryDelay(%d) with the lowest jitter = %s, want %s", c.n, got, c.full/2)
		}
		if got := retryDelay(c.n, base, most, high); got != c.full {
			t.Errorf("retryDelay(%d) with the highest jitter = %s, want %s", c.n, got, c.full)
		}
	}

	r := rand.New(rand.NewPCG(1, 2))
	prevLow := time.Duration(0)
	for n := range 20 {
		d := base << min(n, 10)
		d = min(d, most)
		for range 200 {
			got := retryDelay(n, base, most, r.Int64N)
			if got < d/2 || got > d {
				t.Fatalf("retryDelay(%d) = %s, outside [%s, %s]", n, got, d/2, d)
			}
		}
		lo := retryDelay(n, base, most, low)
		if lo < prevLow {
			t.Errorf("retryDelay(%d) lower bound %s is below retryDelay(%d)'s %s: delays must not shrink", n, lo, n-1, prevLow)
		}
		prevLow = lo
	}
}

// asynq's RetryDelayFunc uses the delay the handler chose and recorded, and a
// throttled retry does not count as a failure (so it uses no attempt).
func TestRetryDelayFuncAndIsFailure(t *testing.T) {
	t.Parallel()
	w := &Worker{cfg: Config{RetryBase: time.Second, RetryMax: time.Minute}, rand: func(int64) int64 { return 0 }}
	chosen := &delayedError{after: 1234 * time.Millisecond, throttled: true, err: errors.New("429")}
	if got := w.retryDelay(3, fmt.Errorf("wrapped: %w", chosen), nil); got != chosen.after {
		t.Errorf("retryDelay with a delayedError = %s, want %s", got, chosen.after)
	}
	if got := w.retryDelay(2, errors.New("other"), nil); got != 2*time.Second {
		t.Errorf("retryDelay(2) of another error = %s, want 2s (base·2² with the lowest jitter)", got)
	}
	if isFailure(chosen) {
		t.Error("isFailure(throttled) = true, want false: a throttled retry must not use an attempt")
	}
	if !isFailure(&delayedError{after: time.Second, err: errors.New("500")}) || !isFailure(errors.New("x")) {
		t.Error("isFailure(transient) = false, want true")
	}
	if got := chosen.Error(); got != "429" || !errors.Is(chosen, chosen.err) {
		t.Errorf("delayedError = %q and does not unwrap to its cause", got)
	}
	// asynq keeps Error() as the task's last error: the record's cleaned message.
	cleaned := &delayedError{msg: "dial tcp: connect: connection refused", err: errors.New("dial tcp 10.1.2.3:80: connect: connection refused")}
	if got := cleaned.Error(); got != cleaned.msg {
		t.Errorf("delayedError with a message = %q, want %q", got, cleaned.msg)
	}
}

// The message a job record keeps names the failure without the internal network
// details that Go's and the SDKs' errors carry: one case per kind of detail, as
// each reaches classify.
func TestClassifyMessageHidesInternalAddresses(t *testing.T) {
	t.Parallel()
	srcErr := func(ref string, kind source.Kind, err error) error {
		return &source.Error{Kind: kind, Retryable: true, Ref: ref, Err: err}
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 8080},
		Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	cases := []struct {
		name      string
		err       error
		remote    bool
		want      string   // the whole message, when set
		keep      []string // what it must still say
		forbidden []string
	}{
		{
			name: "resolver address",
			err: srcErr("https://img.example.com/a.png", source.KindUnavailable, &net.OpError{Op: "dial", Net: "tcp",
				Err: &net.DNSError{Err: "server misbehaving", Name: "img.example.com", Server: "10.0.0.2:53", IsTemporary: true}}),
			want:      `source "https://img.example.com/a.png": unavailable: dial tcp: lookup img.example.com: server misbehaving`,
			forbidden: []string{"10.0.0.2"},
		},
		{
			name:      "resolver address, IPv6",
			err:       errors.New("lookup img.example.com on [fd00::53]:53: no such host"),
			want:      "lookup img.example.com: no such host",
			forbidden: []string{"fd00"},
		},
		{
			name:      "resolved IP of an allowed host",
			err:       srcErr("http://media.internal:8080/a.png", source.KindUnavailable, refused),
			want:      `source "http://media.internal:8080/a.png": unavailable: dial tcp: connect: connection refused`,
			forbidden: []string{"10.1.2.3"},
		},
		{
			name: "both ends of a broken connection",
			err: fmt.Errorf("imagekit: upload: reading file: %w", srcErr("http://media.internal/a.png", source.KindUnavailable,
				&net.OpError{Op: "read", Net: "tcp", Source: &net.TCPAddr{IP: net.IPv4(10, 0, 0, 5), Port: 51234},
					Addr: &net.TCPAddr{IP: net.ParseIP("fd12::7"), Port: 80}, Err: os.NewSyscallError("read", syscall.ECONNRESET)})),
			keep:      []string{"read tcp: read: connection reset by peer", "media.internal"},
			forbidden: []string{"10.0.0.5", "fd12", "51234"},
		},
		{
			name: "credential chain probing the metadata service",
			err: srcErr("s3://photos/a.png", source.KindForbidden, errors.New(`no usable S3 credentials (set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the worker a role): `+
				`failed to refresh cached credentials, no EC2 IMDS role found, operation error ec2imds: GetMetadata, exceeded maximum number of attempts, 3, `+
				`request send failed, Get "http://169.254.169.254/latest/meta-data/iam/security-credentials/": dial tcp 169.254.169.254:80: connect: connection refused`)),
			keep:      []string{"no usable S3 credentials", "no EC2 IMDS role found", "the instance metadata service", "connection refused"},
			forbidden: []string{"169.254", "security-credentials"},
		},
		{
			name:      "container credentials",
			err:       errors.New(`failed to load credentials: Get "http://169.254.170.2/v2/credentials/3f2a": dial tcp 169.254.170.2:80: i/o timeout`),
			want:      `failed to load credentials: Get "the instance metadata service": dial tcp: i/o timeout`,
			forbidden: []string{"169.254", "3f2a"},
		},
		{
			name:      "Google metadata server",
			err:       errors.New(`google: could not find default credentials: Get "http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token": dial tcp: lookup metadata.google.internal on 10.0.0.2:53: no such host`),
			keep:      []string{"could not find default credentials", "no such host"},
			forbidden: []string{"10.0.0.2", "metadata.google.internal", "service-accounts"},
		},
		{
			name:      "certificate names of another host",
			err:       srcErr("https://cdn.example.com/a.png", source.KindInvalid, errors.New("TLS: tls: failed to verify certificate: x509: certificate is valid for gw.internal, 10.9.8.7, not cdn.example.com")),
			keep:      []string{"certificate is not valid for cdn.example.com"},
			forbidden: []string{"gw.internal", "10.9.8.7"},
		},
		{
			name:      "signed URL in ImageKit's message",
			err:       &imagekit.Error{Status: 400, Message: "Could not download https://ik.imagekit.io/demo/a.jpg?ik-t=1700000000&ik-s=f00dSECRET, or https://p.example.com/?u=" + url.QueryEscape("https://b.s3.amazonaws.com/a?X-Amz-Signature=abcSECRET")},
			remote:    true,
			keep:      []string{"ik-s=REDACTED", "https://p.example.com/?u="},
			forbidden: []string{"SECRET"},
		},
		{
			name: "nothing internal",
			err:  &imagekit.Error{Status: 500, Message: "Internal server error. Please try again."},
			want: "Internal server error. Please try again.",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := classify(c.err, c.remote)
			if c.want != "" && f.message != c.want {
				t.Errorf("message\n %q, want\n %q", f.message, c.want)
			}
			for _, k := range c.keep {
				if !strings.Contains(f.message, k) {
					t.Errorf("message %q does not say %q", f.message, k)
				}
			}
			for _, x := range c.forbidden {
				if strings.Contains(f.message, x) {
					t.Errorf("message %q holds %q", f.message, x)
				}
			}
			if f.err != c.err { //nolint:errorlint // the very error classified
				t.Error("the error itself (for logs) was not kept")
			}
		})
	}
}
