package imagekit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var realisticKey = regexp.MustCompile(`^private_[A-Za-z0-9]{4,}$`)

// FuzzDecodeError feeds arbitrary answers to the error decoder: it must not panic,
// and the error it makes must read sensibly and never show the key.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"message":"Your request is missing file parameter.","help":"h"}`), "", "", "", "", "", "private_abcd")
	f.Add(429, []byte(`{"message":"rate limit exceeded"}`), "1", "", "10", "1000", "1000", "private_abcd")
	f.Add(503, []byte(``), "Wed, 21 Oct 2015 07:28:00 GMT", "", "", "", "", "")
	f.Add(500, []byte(`<html>`), "-1", "1e400", "x", "-5", "99999999999999999999", "private_abcd")
	f.Add(400, []byte(`{"message":{"a":1},"errors":{"f":["x"]},"help":null}`), "", "250", "", "", "", "private_abcd")
	f.Add(0, []byte(`{"message":"private_abcd","errors":{"private_abcd":"private_abcd"}}`), "", "", "", "", "", "private_abcd")
	f.Fuzz(func(t *testing.T, status int, body []byte, retryAfter, retryAfterMs, limit, reset, interval, key string) {
		h := http.Header{}
		for k, v := range map[string]string{
			"Retry-After": retryAfter, "Retry-After-Ms": retryAfterMs,
			"X-RateLimit-Limit": limit, "X-RateLimit-Reset": reset, "X-RateLimit-Interval": interval,
		} {
			if v != "" {
				h.Set(k, v)
			}
		}
		e := decodeError(status, h, body, time.Unix(1_700_000_000, 0))
		e.redact(key)
		s := e.Error()
		if s == "" || e.Message == "" || !strings.HasPrefix(s, "imagekit: ") {
			t.Fatalf("Error() = %q, Message %q", s, e.Message)
		}
		if len(e.Body) > maxErrorBody {
			t.Fatalf("kept %d bytes of body", len(e.Body))
		}
		if e.RetryAfter < 0 {
			t.Fatalf("RetryAfter %v", e.RetryAfter)
		}
		if rl := e.RateLimit; rl != nil && (rl.Limit < 0 || rl.Reset < 0 || rl.Interval < 0) {
			t.Fatalf("rate limit %+v", rl)
		}
		if realisticKey.MatchString(key) && strings.Contains(s, key) {
			t.Fatalf("Error() shows the key: %q", s)
		}
		_ = e.Throttled() || e.ServerError() || e.URLFetchFailed() || e.Conflict()
	})
}

// FuzzParseRetryAfter: any header values give a non-negative wait, zero when not ok.
func FuzzParseRetryAfter(f *testing.F) {
	f.Add("120", "")
	f.Add("", "250")
	f.Add("Wed, 21 Oct 2015 07:28:00 GMT", "")
	f.Add("Sunday, 06-Nov-94 08:49:37 GMT", "NaN")
	f.Add("1e309", "-1")
	f.Add("0x10", "+Inf")
	f.Fuzz(func(t *testing.T, retryAfter, retryAfterMs string) {
		h := http.Header{}
		h.Set("Retry-After", retryAfter)
		h.Set("Retry-After-Ms", retryAfterMs)
		d, ok := parseRetryAfter(h, time.Unix(1_700_000_000, 0))
		if d < 0 || (!ok && d != 0) {
			t.Fatalf("%q, %q: %v %v", retryAfter, retryAfterMs, d, ok)
		}
	})
}

// FuzzDecodeSuccess feeds arbitrary 2xx bodies to the success decoders (upload
// result and file object): they must not panic, and whatever decodes keeps the body.
func FuzzDecodeSuccess(f *testing.F) {
	f.Add([]byte(`{"fileId":"a","name":"b","size":3,"width":1,"height":2,"versionInfo":{"id":"a","name":"Version 1"},"AITags":[{"name":"x","confidence":9.5,"source":"google-auto-tagging"}],"extensionStatus":{"remove-bg":"pending"}}`))
	f.Add([]byte(`{"message":"The pre-transformation has been queued successfully."}`))
	f.Add([]byte(`{"size":"big","AITags":{},"createdAt":"2026-01-02T03:04:05Z","tags":[1]}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(``))
	f.Fuzz(func(t *testing.T, body []byte) {
		resp := &http.Response{StatusCode: 200, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(body))}
		if res, err := decodeUpload(resp); err == nil && !bytes.Equal(res.Raw, body) {
			t.Fatalf("Raw %q, body %q", res.Raw, body)
		}
		var file File
		if err := json.Unmarshal(body, &file); err == nil && !bytes.Equal(bytes.TrimSpace(file.Raw), bytes.TrimSpace(body)) {
			t.Fatalf("Raw %q, body %q", file.Raw, body)
		}
	})
}
