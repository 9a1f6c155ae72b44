package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// DefaultTolerance is how far a signed event's timestamp may be from now, either way.
const DefaultTolerance = 5 * time.Minute

// Header names of the two signature schemes ImageKit has used.
const (
	HeaderWebhookID        = standardwebhooks.HeaderWebhookID        // "webhook-id"
	HeaderWebhookTimestamp = standardwebhooks.HeaderWebhookTimestamp // "webhook-timestamp", Unix seconds
	HeaderWebhookSignature = standardwebhooks.HeaderWebhookSignature // "webhook-signature", "v1,<base64>" ...
	HeaderLegacySignature  = "x-ik-signature"                        // "t=<Unix ms>,v1=<hex>"
)

// Errors of VerifyStandard and VerifyLegacy. They never include the secret or the
// expected signature.
var (
	// ErrNoSignature: the signature headers are missing or empty.
	ErrNoSignature = errors.New("webhook: signature headers missing")
	// ErrBadSignature: the headers are malformed or no signature in them matches.
	ErrBadSignature = errors.New("webhook: signature does not verify")
	// ErrStale: the signed timestamp is further from now than the tolerance.
	ErrStale = errors.New("webhook: signature timestamp outside the tolerance")
)

// VerifyStandard checks Standard Webhooks headers (webhook-id, webhook-timestamp in
// seconds, webhook-signature: a space-separated list of "v1,<base64 HMAC-SHA256 of
// id.timestamp.body>") against body. As ImageKit's SDKs do, the HMAC key is the raw
// bytes of the dashboard secret, whole: a whsec_ prefix is neither stripped nor
// base64-decoded. The timestamp must be within tol of now either way (tol <= 0:
// DefaultTolerance). Signatures are compared in constant time.
func VerifyStandard(secret string, h http.Header, body []byte, now time.Time, tol time.Duration) error {
	if secret == "" {
		return fmt.Errorf("%w: no secret to verify with", ErrBadSignature)
	}
	id, ts, sig := h.Get(HeaderWebhookID), h.Get(HeaderWebhookTimestamp), h.Get(HeaderWebhookSignature)
	if id == "" || ts == "" || sig == "" {
		return fmt.Errorf("%w: need webhook-id, webhook-timestamp and webhook-signature", ErrNoSignature)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: webhook-timestamp is not Unix seconds", ErrBadSignature)
	}
	if err := checkTime(time.Unix(sec, 0), now, tol); err != nil {
		return err
	}
	// The library checks the timestamp against the wall clock with a fixed tolerance;
	// checkTime did it with ours, so it checks only the signature.
	wh, err := standardwebhooks.NewWebhookRaw([]byte(secret))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	if err := wh.VerifyIgnoringTimestamp(body, h); err != nil {
		return fmt.Errorf("%w: no v1 signature in webhook-signature matches", ErrBadSignature)
	}
	return nil
}

// VerifyLegacy checks ImageKit's legacy x-ik-signature header, "t=<Unix ms>,v1=<hex
// HMAC-SHA256 of t.body>" keyed with the secret string, against body. The timestamp
// must be within tol of now either way (tol <= 0: DefaultTolerance); several v1
// values may be given and any may match. Signatures are compared in constant time.
func VerifyLegacy(secret, header string, body []byte, now time.Time, tol time.Duration) error {
	if secret == "" {
		return fmt.Errorf("%w: no secret to verify with", ErrBadSignature)
	}
	if strings.TrimSpace(header) == "" {
		return fmt.Errorf("%w: need x-ik-signature", ErrNoSignature)
	}
	var t string
	var sigs []string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch strings.TrimSpace(k) {
		case "t":
			if t != "" {
				return fmt.Errorf("%w: x-ik-signature has two timestamps", ErrBadSignature)
			}
			t = strings.TrimSpace(v)
		case "v1":
			sigs = append(sigs, strings.TrimSpace(v))
		}
	}
	if t == "" || !digits(t) {
		return fmt.Errorf("%w: x-ik-signature has no timestamp t in Unix milliseconds", ErrBadSignature)
	}
	ms, err := strconv.ParseInt(t, 10, 64)
	if err != nil {
		return fmt.Errorf("%w: x-ik-signature timestamp out of range", ErrBadSignature)
	}
	if len(sigs) == 0 {
		return fmt.Errorf("%w: x-ik-signature has no v1 signature", ErrBadSignature)
	}
	if err := checkTime(time.UnixMilli(ms), now, tol); err != nil {
		return err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t))
	mac.Write([]byte("."))
	mac.Write(body)
	want := mac.Sum(nil)
	ok := false
	for _, s := range sigs {
		got, err := hex.DecodeString(s)
		if err == nil && hmac.Equal(got, want) {
			ok = true
		}
	}
	if !ok {
		return fmt.Errorf("%w: no v1 signature in x-ik-signature matches", ErrBadSignature)
	}
	return nil
}

func checkTime(ts, now time.Time, tol time.Duration) error {
	if tol <= 0 {
		tol = DefaultTolerance
	}
	switch {
	case now.Sub(ts) > tol:
		return fmt.Errorf("%w: signed more than %s ago", ErrStale, tol)
	case ts.Sub(now) > tol:
		return fmt.Errorf("%w: signed more than %s in the future", ErrStale, tol)
	}
	return nil
}

func digits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
