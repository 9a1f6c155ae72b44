package imagekit

import (
	"bytes"
	"encoding/base64"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
)

// uploadErr uploads a small PNG with p through c and returns the *Error it must fail with.
func (e *testEnv) uploadErr(t *testing.T, c *Client, p Params) *Error {
	t.Helper()
	_, err := c.Upload(t.Context(), UploadRequest{File: bytes.NewReader(pngBytes(t, 8, 8)), Params: p})
	return asError(t, err)
}

// classes lists which classification helpers report true, for messages.
func classes(e *Error) string {
	var out []string
	for _, c := range []struct {
		name string
		ok   bool
	}{{"throttled", e.Throttled()}, {"server", e.ServerError()}, {"urlfetch", e.URLFetchFailed()}, {"conflict", e.Conflict()}} {
		if c.ok {
			out = append(out, c.name)
		}
	}
	return strings.Join(out, ",")
}

func TestErrorUnauthorized(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	const wrongKey = "private_wrongKeyDoNotLeak"
	e := env.uploadErr(t, clientFor(env.URL, wrongKey), Params{FileName: "a.png"})

	// A wrong key is 403, as ImageKit answers it; a missing one would be 401.
	if e.Status != http.StatusForbidden || e.Message != "Your account cannot be authenticated." || e.RequestID == "" {
		t.Fatalf("status %d message %q requestId %q", e.Status, e.Message, e.RequestID)
	}
	if e.Help == "" || len(e.Body) == 0 {
		t.Errorf("help %q body %q", e.Help, e.Body)
	}
	basic := base64.StdEncoding.EncodeToString([]byte(wrongKey + ":"))
	if s := e.Error(); strings.Contains(s, wrongKey) || strings.Contains(s, basic) || s != "imagekit: 403 Forbidden: Your account cannot be authenticated." {
		t.Errorf("Error() = %q", s)
	}
	if c := classes(e); c != "" {
		t.Errorf("classified %q", c)
	}
}

func TestErrorBadParameter(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	e := env.uploadErr(t, env.client, Params{FileName: "a.png", CustomCoordinates: "ten,ten"})

	const want = "Your request contains invalid value for customCoordinates parameter."
	if e.Status != http.StatusBadRequest || !strings.HasPrefix(e.Message, want) {
		t.Fatalf("status %d message %q", e.Status, e.Message)
	}
	if !strings.HasPrefix(e.Error(), "imagekit: 400 Bad Request: "+want) {
		t.Errorf("Error() = %q", e.Error())
	}
	if c := classes(e); c != "" {
		t.Errorf("classified %q", c)
	}
}

func TestErrorInvalidCustomMetadata(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	e := env.uploadErr(t, env.client, Params{FileName: "a.png", CustomMetadata: []byte(`{"nosuch":1}`)})
	if e.Message != "Invalid custom metadata." || e.Errors["nosuch"] == "" {
		t.Fatalf("message %q errors %v", e.Message, e.Errors)
	}
	if !strings.Contains(e.Error(), "(nosuch: ") {
		t.Errorf("Error() = %q, want the field's problem", e.Error())
	}
}

func TestErrorServer(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	env.fault(t, `{"status":500,"count":1}`)
	e := env.uploadErr(t, env.client, Params{FileName: "a.png"})
	if e.Status != http.StatusInternalServerError || e.Message == "" || classes(e) != "server" {
		t.Fatalf("status %d message %q classes %q", e.Status, e.Message, classes(e))
	}
	// The fault is used up: the next upload works.
	if _, err := env.client.Upload(t.Context(), UploadRequest{File: bytes.NewReader(pngBytes(t, 8, 8)), Params: Params{FileName: "a.png"}}); err != nil {
		t.Fatal(err)
	}
}

func TestErrorServerNotJSON(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  int
		body    string
		message string
	}{
		{http.StatusBadGateway, "<html><body>502 Bad Gateway</body></html>", "Bad Gateway"},
		{http.StatusServiceUnavailable, "", "Service Unavailable"},
		{http.StatusInternalServerError, `{"message":""}`, "Internal Server Error"},
		{599, "", "HTTP 599"},
	}
	for _, tt := range tests {
		ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tt.status)
			w.Write([]byte(tt.body))
		}))
		t.Cleanup(ts.Close)
		_, err := clientFor(ts.URL, testKey).Upload(t.Context(), UploadRequest{File: strings.NewReader("x"), Params: Params{FileName: "a"}})
		e := asError(t, err)
		if e.Status != tt.status || e.Message != tt.message || string(e.Body) != tt.body || !e.ServerError() {
			t.Errorf("%d %q: got status %d message %q body %q", tt.status, tt.body, e.Status, e.Message, e.Body)
		}
	}
}

func TestErrorRateLimited(t *testing.T) {
	t.Parallel()
	env := newEnv(t, func(c *emulator.Config) { c.Faults.RateLimitReset = 1500 * time.Millisecond })
	env.fault(t, `{"status":429,"count":1}`)
	e := env.uploadErr(t, env.client, Params{FileName: "a.png"})

	if e.Status != http.StatusTooManyRequests || classes(e) != "throttled" {
		t.Fatalf("status %d classes %q", e.Status, classes(e))
	}
	want := RateLimit{Limit: 100, Reset: 1500 * time.Millisecond, Interval: 1500 * time.Millisecond}
	if e.RateLimit == nil || *e.RateLimit != want {
		t.Errorf("rate limit %+v, want %+v", e.RateLimit, want)
	}
}

func TestErrorThrottled400(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	const msg = "You have sent too many requests to update the file recently. Please try again later."
	env.fault(t, `{"status":400,"count":1,"message":"`+msg+`"}`)
	e := env.uploadErr(t, env.client, Params{FileName: "a.png"})
	if e.Status != http.StatusBadRequest || e.Message != msg || classes(e) != "throttled" {
		t.Fatalf("status %d message %q classes %q", e.Status, e.Message, classes(e))
	}
	if e.RateLimit != nil {
		t.Errorf("rate limit %+v from a 400 without headers", e.RateLimit)
	}
}

func TestErrorURLFetchFailed(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	origin := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(origin.Close)

	_, err := env.client.Upload(t.Context(), UploadRequest{FileText: origin.URL + "/missing.png", Params: Params{FileName: "m.png"}})
	e := asError(t, err)
	if e.Status != http.StatusBadRequest || classes(e) != "urlfetch" {
		t.Fatalf("status %d message %q classes %q", e.Status, e.Message, classes(e))
	}
}

func TestErrorConflict(t *testing.T) {
	t.Parallel()
	env := newEnv(t, nil)
	p := Params{FileName: "same.png", UseUniqueFileName: ptr(false), OverwriteFile: ptr(false)}
	if _, err := env.client.Upload(t.Context(), UploadRequest{File: bytes.NewReader(pngBytes(t, 8, 8)), Params: p}); err != nil {
		t.Fatal(err)
	}
	e := env.uploadErr(t, env.client, p)
	if e.Status != http.StatusBadRequest || classes(e) != "conflict" {
		t.Fatalf("status %d message %q classes %q", e.Status, e.Message, classes(e))
	}
}

func TestErrorNeverContainsKey(t *testing.T) {
	t.Parallel()
	basic := base64.StdEncoding.EncodeToString([]byte(testKey + ":"))
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// A server that echoes credentials back: the client must not pass them on.
		user, _, _ := r.BasicAuth()
		w.WriteHeader(http.StatusForbidden)
		w.Write([]byte(`{"message":"key ` + user + ` refused, header ` + r.Header.Get("Authorization") + `","help":"` + user + `","errors":{"` + user + `":"` + user + `"}}`))
	}))
	t.Cleanup(ts.Close)

	_, err := clientFor(ts.URL, testKey).Upload(t.Context(), UploadRequest{File: strings.NewReader("x"), Params: Params{FileName: "a"}})
	e := asError(t, err)
	for what, s := range map[string]string{"Error()": e.Error(), "Message": e.Message, "Help": e.Help, "Body": string(e.Body)} {
		if strings.Contains(s, testKey) || strings.Contains(s, basic) {
			t.Errorf("%s contains the key: %q", what, s)
		}
	}
	for k, v := range e.Errors {
		if strings.Contains(k+v, testKey) {
			t.Errorf("Errors contains the key: %q: %q", k, v)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status  int
		message string
		want    string
	}{
		{429, "rate limit exceeded", "throttled"},
		{400, "You have sent too many requests to update the file recently. Please try again later.", "throttled"},
		{400, "Too many requests.", ""},
		{500, "Internal server error. Please try again.", "server"},
		{503, "", "server"},
		{400, "Your request contains invalid file parameter. The file could not be downloaded from the URL.", "urlfetch"},
		{400, "Your request contains invalid file parameter. The file URL did not respond within 8 seconds.", "urlfetch"},
		{400, "Unable to download file from url", "urlfetch"},
		{400, "Timeout while fetching the URL", "urlfetch"},
		{400, "The url timed out", "urlfetch"},
		{400, "Your request contains invalid value for webhookUrl parameter. It must be an absolute http or https URL.", ""},
		{400, "Your request contains invalid file parameter. The value is neither a URL nor valid base64 content.", ""},
		{502, "Could not download the file from the URL", "server"},
		{400, "A file with the same name already exists at the exact location. We could not overwrite it because both overwriteFile and useUniqueFileName are set to false.", "conflict"},
		{409, "A file with the same name already exists", ""},
		{400, "Your request contains invalid file parameter. The file size exceeds limits.", ""},
		{401, "Your request does not contain private API key.", ""},
		{404, "The requested file does not exist.", ""},
	}
	for _, tt := range tests {
		e := &Error{Status: tt.status, Message: tt.message}
		if got := classes(e); got != tt.want {
			t.Errorf("%d %q: classes %q, want %q", tt.status, tt.message, got, tt.want)
		}
		if errors.Is(e, ErrNotFound) != (tt.status == 404) {
			t.Errorf("%d: errors.Is(ErrNotFound) = %v", tt.status, errors.Is(e, ErrNotFound))
		}
	}
}

func TestDecodeError(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := http.Header{}
	h["x-ik-requestId"] = []string{"req-7"} // as the emulator spells it
	h.Set("X-RateLimit-Limit", "10")
	h.Set("X-RateLimit-Reset", "250")
	h.Set("X-RateLimit-Interval", "60000")
	h.Set("Retry-After", "3")
	big := `{"message":"slow down","help":"x","pad":"` + strings.Repeat("a", 10_000) + `"}`
	e := decodeError(429, canonical(h), []byte(big), now)

	if e.RequestID != "req-7" || e.Message != "slow down" || e.Help != "x" || e.RetryAfter != 3*time.Second {
		t.Errorf("%+v", e)
	}
	if want := (RateLimit{Limit: 10, Reset: 250 * time.Millisecond, Interval: time.Minute}); *e.RateLimit != want {
		t.Errorf("rate limit %+v, want %+v", *e.RateLimit, want)
	}
	if len(e.Body) != maxErrorBody {
		t.Errorf("body kept %d bytes, want %d", len(e.Body), maxErrorBody)
	}
	if e := decodeError(400, http.Header{"X-Ratelimit-Reset": {"soon"}}, nil, now); e.RateLimit != nil {
		t.Errorf("unusable rate-limit headers gave %+v", e.RateLimit)
	}
	if e := decodeError(400, nil, []byte(`{"reason":"bad thing","errors":["not","a","map"]}`), now); e.Message != "bad thing" || e.Errors != nil {
		t.Errorf("reason fallback: %+v", e)
	}
}

// canonical rebuilds h as a client receives it: header names canonicalised.
func canonical(h http.Header) http.Header {
	out := http.Header{}
	for k, vs := range h {
		for _, v := range vs {
			out.Add(k, v)
		}
	}
	return out
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name    string
		after   string
		afterMs string
		want    time.Duration
		wantOK  bool
	}{
		{"none", "", "", 0, false},
		{"seconds", "120", "", 2 * time.Minute, true},
		{"zero seconds", "0", "", 0, true},
		{"fractional seconds", "1.5", "", 1500 * time.Millisecond, true},
		{"padded", " 7 ", "", 7 * time.Second, true},
		{"http date", now.Add(90 * time.Second).Format(http.TimeFormat), "", 90 * time.Second, true},
		{"http date in the past", now.Add(-time.Hour).Format(http.TimeFormat), "", 0, true},
		{"rfc850 date", now.Add(time.Minute).Format(time.RFC850), "", time.Minute, true},
		{"ms", "", "250", 250 * time.Millisecond, true},
		{"ms wins over seconds", "10", "250", 250 * time.Millisecond, true},
		{"bad ms falls back to seconds", "10", "soon", 10 * time.Second, true},
		{"negative seconds", "-5", "", 0, false},
		{"garbage", "tomorrow", "", 0, false},
		{"huge seconds saturate", "1e300", "", time.Duration(1<<63 - 1), true},
		{"NaN", "NaN", "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.after != "" {
				h.Set("Retry-After", tt.after)
			}
			if tt.afterMs != "" {
				h.Set("Retry-After-Ms", tt.afterMs)
			}
			got, ok := parseRetryAfter(h, now)
			if got != tt.want || ok != tt.wantOK {
				t.Errorf("got %v %v, want %v %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
