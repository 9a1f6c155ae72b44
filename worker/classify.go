package worker

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/redact"
	"github.com/ikq-dev/ikq/internal/retry"
	"github.com/ikq-dev/ikq/internal/source"
)

// kind is how a failure is handled.
type kind int

const (
	transient kind = iota // retried after an exponential delay, using an attempt
	throttled             // retried after a wait (the server's, or a busy source host's), not using an attempt
	permanent             // failed at once
	canceled              // the producer canceled the job
)

// failure is a classified error, with what the job record shows of it.
type failure struct {
	kind       kind
	code       string
	message    string
	httpStatus int
	wait       time.Duration // throttled: how long the server asked to wait
	err        error
}

// errCanceledByProducer interrupts an upload whose job was canceled.
var errCanceledByProducer = errors.New("job canceled by the producer")

// minThrottleWait applies when a throttled answer names no wait.
const minThrottleWait = time.Second

// hostBusyWait is how long a job whose source's host has its share of the
// worker's slots waits in the queue, its slot free for other jobs.
const hostBusyWait = 5 * time.Second

// classify decides how a failed attempt is handled. It is the one place that knows
// the error types of the layers below, and where the message a job record keeps is
// made: see publicMessage.
func classify(err error, remoteFetch bool) failure {
	f := classifyError(err, remoteFetch)
	f.message = publicMessage(f.message)
	return f
}

// publicMessage is what job records, and the API that returns them, show of a
// failure: URLs redacted and no internal network details (the resolver's address,
// the IPs of allowed hosts, the metadata service a credential chain probed), as
// redact.Text describes. Logs keep the error whole.
func publicMessage(msg string) string { return redact.Text(msg) }

// waitReason says why a throttled job waits, for its record's timeline.
func (f failure) waitReason() string {
	if f.code == codeHostBusy {
		return "its source's host has its share of this worker's slots"
	}
	return "throttled by ImageKit"
}

// codeHostBusy is the code of a job sent back to the queue because its source's host
// had its share of the worker's slots (SourceConfig.HostShare).
const codeHostBusy = "source_host_busy"

func classifyError(err error, remoteFetch bool) failure {
	f := failure{kind: transient, code: "upload_failed", message: err.Error(), err: err}
	var ik *imagekit.Error
	var src *source.Error
	var exists *ExistsError
	switch {
	case errors.Is(err, errCanceledByProducer):
		f.kind, f.code = canceled, "canceled"
	case errors.As(err, &exists):
		f.kind, f.code = permanent, "already_exists"
	case errors.As(err, &ik):
		f.httpStatus, f.message = ik.Status, ik.Message
		switch {
		case ik.Throttled():
			f.kind, f.code = throttled, "throttled"
			f.wait = ik.RetryAfter
			if ik.RateLimit != nil && ik.RateLimit.Reset > f.wait {
				f.wait = ik.RateLimit.Reset
			}
			f.wait = max(f.wait, minThrottleWait)
		case ik.ServerError():
			f.code = "imagekit_unavailable"
		case ik.URLFetchFailed() && remoteFetch:
			f.code = "remote_fetch_failed"
		case ik.Status == http.StatusUnauthorized || ik.Status == http.StatusForbidden:
			f.kind, f.code = permanent, "imagekit_auth"
		case ik.Status == http.StatusRequestTimeout:
			f.code = "imagekit_timeout"
		default:
			f.kind, f.code = permanent, "imagekit_rejected"
		}
	case errors.As(err, &src):
		f.httpStatus = src.Status
		// Kind names are words ("not found"); codes are identifiers.
		f.code = "source_" + strings.ReplaceAll(src.Kind.String(), " ", "_")
		switch {
		case src.Kind == source.KindBusy:
			// Nothing was fetched: the job waits its turn without spending an attempt.
			f.kind, f.code, f.wait = throttled, codeHostBusy, hostBusyWait
		case !src.Retryable:
			f.kind = permanent
		}
	case errors.Is(err, source.ErrTooLarge):
		f.kind, f.code = permanent, "source_too_large"
	case errors.Is(err, context.DeadlineExceeded):
		f.code, f.message = "timeout", "the attempt ran out of time: "+err.Error()
	}
	return f
}

// retryDelay is the wait before transient attempt n+1 (n = retries so far):
// exponential from base, capped at most, with jitter in [d/2, d].
func retryDelay(n int, base, most time.Duration, rand func(int64) int64) time.Duration {
	d := retry.Exponential(n, base, most)
	half := d / 2
	return half + time.Duration(rand(int64(half)+1))
}

// delayedError carries the delay the handler chose to asynq's RetryDelayFunc, so that
// the job record's nextAttemptAt and asynq's schedule agree.
type delayedError struct {
	after     time.Duration
	throttled bool
	free      bool   // the attempt never began (job state was unavailable): it is not spent
	msg       string // what asynq keeps as the task's last error, if not err's own message
	err       error
}

func (e *delayedError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}
func (e *delayedError) Unwrap() error { return e.err }
