package callback

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"unicode"

	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/internal/redact"
)

// maxSnippet is how much of a failed answer's body an error quotes, in characters.
const maxSnippet = 200

// DeliveryError is a POST to an app that did not get a 2xx answer. Its message is
// what the job record shows as the callback's lastError: the status and at most 200
// characters of the answer, or the transport error with no URL (URLs may carry the
// app's tokens).
type DeliveryError struct {
	StatusCode int    // the app's answer; 0 when there was none
	Reason     string // "HTTP 503 Service Unavailable: …", "connection refused", …

	permanent bool // retrying cannot help (an unusable URL, an address the SSRF guard refuses)
}

func (e *DeliveryError) Error() string { return e.Reason }

// send POSTs body to target and reads the answer: nil for a 2xx, else a *DeliveryError.
func (d *Deliverer) send(ctx context.Context, target string, body []byte, h http.Header) error {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &DeliveryError{Reason: "the URL is not an absolute http(s) URL", permanent: true}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), bytes.NewReader(body))
	if err != nil {
		return &DeliveryError{Reason: "the URL is not usable", permanent: true}
	}
	req.Header = h
	resp, err := d.client.Do(req)
	if err != nil {
		var refused *netguard.RefusedError
		if errors.As(err, &refused) {
			// The SSRF guard refused the address: it will refuse it every time.
			return &DeliveryError{Reason: refused.Error(), permanent: true}
		}
		// The record shows it: no resolver or resolved addresses (redact.Text).
		return &DeliveryError{Reason: redact.Text(transportReason(err))}
	}
	defer func() { _ = resp.Body.Close() }()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxSnippet))
	// Read a little more so the connection can be reused; a huge answer is not worth it.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	reason := "HTTP " + resp.Status
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		reason += " (redirects are not followed)"
	}
	if s := snippet(head); s != "" {
		reason += ": " + s
	}
	return &DeliveryError{StatusCode: resp.StatusCode, Reason: reason}
}

// transportReason is err without the request URL, which *url.Error adds.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "timeout: " + err.Error()
	}
	return fmt.Sprint(err)
}

// snippet is the start of an answer's body as one printable line of at most
// maxSnippet characters.
func snippet(b []byte) string {
	s := strings.Map(func(r rune) rune {
		if unicode.IsPrint(r) {
			return r
		}
		if unicode.IsSpace(r) {
			return ' '
		}
		return -1
	}, strings.ToValidUTF8(string(b), ""))
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > maxSnippet {
		s = string(r[:maxSnippet]) + "…"
	}
	return s
}
