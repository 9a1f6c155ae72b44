package imagekit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/redact"
)

// ErrNotFound matches, with errors.Is, an *Error whose status is 404: FileDetails of
// an unknown file id.
var ErrNotFound = errors.New("imagekit: not found")

// Error is a non-2xx answer from ImageKit. Transport failures (dial, timeout,
// canceled context) are never an *Error.
type Error struct {
	Status    int
	Message   string // the API's "message", or the status text when the body has none
	Help      string // the API's "help"
	RequestID string // the x-ik-requestId header
	// Errors are per-field problems some 400s carry, e.g. for customMetadata.
	Errors map[string]string
	// RateLimit is set when the answer carries X-RateLimit-* headers.
	RateLimit *RateLimit
	// RetryAfter is from Retry-After-Ms or Retry-After (seconds or an HTTP date),
	// zero when neither is present.
	RetryAfter time.Duration
	Body       []byte // the raw body, at most 4 KiB
}

// RateLimit is ImageKit's rate-limit headers: Limit requests per Interval, and how
// long to wait before the next request (Reset).
type RateLimit struct {
	Limit    int           // X-RateLimit-Limit
	Reset    time.Duration // X-RateLimit-Reset, sent in milliseconds
	Interval time.Duration // X-RateLimit-Interval, sent in milliseconds
}

// Error returns "imagekit: <status> <status text>: <message>", followed by any
// per-field problems. The client scrubs its private key out of every field it
// fills from the answer, so the key never appears here.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("imagekit: ")
	b.WriteString(strconv.Itoa(e.Status))
	if t := http.StatusText(e.Status); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Errors) > 0 {
		keys := make([]string, 0, len(e.Errors))
		for k := range e.Errors {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b.WriteString(" (")
		for i, k := range keys {
			if i > 0 {
				b.WriteString("; ")
			}
			b.WriteString(k)
			b.WriteString(": ")
			b.WriteString(e.Errors[k])
		}
		b.WriteString(")")
	}
	return b.String()
}

// Is makes errors.Is(err, ErrNotFound) true for a 404.
func (e *Error) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// The helpers below are the one place that reads meaning into the API's message
// strings; everything else classifies with them.

// Throttled reports a request refused for its rate: a 429, or the Upload API's 400
// "You have sent too many requests to update the file recently".
func (e *Error) Throttled() bool {
	if e.Status == http.StatusTooManyRequests {
		return true
	}
	m := strings.ToLower(e.Message)
	return e.Status == http.StatusBadRequest && strings.Contains(m, "too many requests") && strings.Contains(m, "recently")
}

// ServerError reports a 5xx.
func (e *Error) ServerError() bool { return e.Status >= 500 }

// URLFetchFailed reports a 400 because ImageKit could not download the file from
// the URL it was given (fetch=remote), or its headers did not arrive within 8 s.
// ImageKit does not document the wording, so besides the emulator's messages this
// matches any message naming a URL together with downloading or timing out.
func (e *Error) URLFetchFailed() bool {
	if e.Status != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	if strings.Contains(m, "could not be downloaded from the url") || strings.Contains(m, "did not respond within 8 seconds") {
		return true
	}
	if !strings.Contains(m, "url") {
		return false
	}
	for _, w := range []string{"download", "timeout", "time out", "timed out", "respond"} {
		if strings.Contains(m, w) {
			return true
		}
	}
	return false
}

// Conflict reports the documented 400 "A file with the same name already exists
// at the exact location", answered when overwriteFile and useUniqueFileName are
// both false and the path is taken.
func (e *Error) Conflict() bool {
	return e.Status == http.StatusBadRequest &&
		strings.Contains(strings.ToLower(e.Message), "a file with the same name already exists")
}

// redact masks the private key, and the Basic credentials made from it, in
// everything the server sent back, in case a server ever echoes them, with the
// mask of ikq's one redaction policy.
func (e *Error) redact(key string) {
	for _, s := range secretForms(key) {
		e.Message = strings.ReplaceAll(e.Message, s, redact.Mask)
		e.Help = strings.ReplaceAll(e.Help, s, redact.Mask)
		if e.Errors != nil {
			clean := make(map[string]string, len(e.Errors))
			for k, v := range e.Errors {
				clean[strings.ReplaceAll(k, s, redact.Mask)] = strings.ReplaceAll(v, s, redact.Mask)
			}
			e.Errors = clean
		}
		e.Body = bytes.ReplaceAll(e.Body, []byte(s), []byte(redact.Mask))
	}
}

// decodeError turns a non-2xx answer into an *Error. It accepts anything: a body
// that is empty, not JSON or JSON of another shape leaves Message as the status text.
func decodeError(status int, h http.Header, body []byte, now time.Time) *Error {
	e := &Error{Status: status, RequestID: h.Get("x-ik-requestId")}
	if len(body) > 0 {
		e.Body = bytes.Clone(body[:min(len(body), maxErrorBody)])
	}
	var wire struct {
		Message json.RawMessage `json:"message"`
		Help    json.RawMessage `json:"help"`
		Reason  json.RawMessage `json:"reason"`
		Errors  json.RawMessage `json:"errors"`
	}
	if json.Unmarshal(body, &wire) == nil {
		e.Message = jsonText(wire.Message)
		if e.Message == "" {
			e.Message = jsonText(wire.Reason)
		}
		e.Help = jsonText(wire.Help)
		var fields map[string]json.RawMessage
		if json.Unmarshal(wire.Errors, &fields) == nil {
			for k, v := range fields {
				if e.Errors == nil {
					e.Errors = map[string]string{}
				}
				e.Errors[k] = jsonText(v)
			}
		}
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if e.Message == "" {
		e.Message = "HTTP " + strconv.Itoa(status)
	}
	e.RateLimit = parseRateLimit(h)
	e.RetryAfter, _ = parseRetryAfter(h, now)
	return e
}

// jsonText is a JSON string's value, or any other JSON value's compact text.
func jsonText(raw json.RawMessage) string {
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) == nil {
		return b.String()
	}
	return string(raw)
}

// parseRateLimit reads X-RateLimit-Limit, -Reset and -Interval (both in
// milliseconds). It returns nil when none of them is present and usable.
func parseRateLimit(h http.Header) *RateLimit {
	var rl RateLimit
	ok := false
	if n, good := parseNonNegInt(h.Get("X-RateLimit-Limit")); good {
		rl.Limit = int(min(n, math.MaxInt32))
		ok = true
	}
	if ms, good := parseNonNegInt(h.Get("X-RateLimit-Reset")); good {
		rl.Reset = millis(ms)
		ok = true
	}
	if ms, good := parseNonNegInt(h.Get("X-RateLimit-Interval")); good {
		rl.Interval = millis(ms)
		ok = true
	}
	if !ok {
		return nil
	}
	return &rl
}

// parseRetryAfter reads how long the server asks to wait: Retry-After-Ms (as the
// generated ImageKit SDKs honour it) or Retry-After in seconds or as an HTTP date
// relative to now. A date in the past gives zero. ok is false when neither header
// is present and valid.
func parseRetryAfter(h http.Header, now time.Time) (d time.Duration, ok bool) {
	if v := strings.TrimSpace(h.Get("Retry-After-Ms")); v != "" {
		if ms, err := strconv.ParseFloat(v, 64); err == nil && ms >= 0 && !math.IsInf(ms, 0) {
			return floatDuration(ms, time.Millisecond), true
		}
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0, false
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s < 0 || math.IsInf(s, 0) || math.IsNaN(s) {
			return 0, false
		}
		return floatDuration(s, time.Second), true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// parseNonNegInt parses a header holding a non-negative integer.
func parseNonNegInt(v string) (int64, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n, true
}

// millis converts milliseconds to a Duration, saturating instead of overflowing.
func millis(ms int64) time.Duration {
	if ms > math.MaxInt64/int64(time.Millisecond) {
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(ms) * time.Millisecond
}

// floatDuration converts v units to a Duration, saturating; NaN gives zero.
func floatDuration(v float64, unit time.Duration) time.Duration {
	f := v * float64(unit)
	switch {
	case math.IsNaN(f) || f <= 0:
		return 0
	case f >= math.MaxInt64:
		return time.Duration(math.MaxInt64)
	}
	return time.Duration(f)
}

// errorf wraps a transport or local failure of op.
func errorf(op string, err error) error { return fmt.Errorf("imagekit: %s: %w", op, err) }
