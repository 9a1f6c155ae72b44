package emulator

import (
	"bytes"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
)

// TestMain checks that no goroutine outlives the tests: a server, a fetch or a
// reader a test forgot to stop.
func TestMain(m *testing.M) { ikqtest.Main(m) }

const testKey = "private_test_key"

// testEmulator is an emulator behind a real HTTP server on loopback.
type testEmulator struct {
	srv *Server
	ts  *httptest.Server
	URL string
}

func newTestEmulator(t testing.TB, configure func(*Config)) *testEmulator {
	t.Helper()
	// URL sources in tests are loopback servers.
	cfg := Config{PrivateKey: testKey, ExtensionDelay: 20 * time.Millisecond, WebhookRetryFor: 5 * time.Second,
		FetchAllow: []string{"127.0.0.0/8", "::1"}}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return &testEmulator{srv: srv, ts: ts, URL: ts.URL}
}

// part is one multipart field; with filename set it is a file part.
type part struct {
	name, value string
	filename    string
	content     []byte
}

func field(name, value string) part { return part{name: name, value: value} }

func filePart(name string, content []byte) part {
	return part{name: "file", filename: name, content: content}
}

func multipartBody(t testing.TB, parts []part) (io.Reader, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for _, p := range parts {
		if p.filename != "" {
			w, err := mw.CreateFormFile(p.name, p.filename)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = w.Write(p.content) // into memory: it cannot fail
			continue
		}
		_ = mw.WriteField(p.name, p.value)
	}
	_ = mw.Close()
	return &b, mw.FormDataContentType()
}

// response is an answer from the emulator, decoded.
type response struct {
	Status int
	Header http.Header
	Body   map[string]any
	List   []map[string]any
	Raw    []byte
}

func (r response) str(key string) string { s, _ := r.Body[key].(string); return s }

// do sends a request; user is the Basic user name ("" for none).
func (e *testEmulator) do(t testing.TB, method, path, user string, body io.Reader, contentType string) response {
	t.Helper()
	req, err := http.NewRequest(method, e.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if user != "" {
		req.SetBasicAuth(user, "ignored-password")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	raw, _ := io.ReadAll(resp.Body)
	r := response{Status: resp.StatusCode, Header: resp.Header, Raw: raw}
	if len(raw) > 0 && raw[0] == '[' {
		_ = json.Unmarshal(raw, &r.List)
	} else {
		_ = json.Unmarshal(raw, &r.Body)
	}
	return r
}

// upload posts a server-side (Basic auth) upload to API v1.
func (e *testEmulator) upload(t testing.TB, parts ...part) response {
	t.Helper()
	return e.uploadAs(t, 1, testKey, parts...)
}

func (e *testEmulator) uploadAs(t testing.TB, version int, user string, parts ...part) response {
	t.Helper()
	body, ct := multipartBody(t, parts)
	path := "/api/v1/files/upload"
	if version == 2 {
		path = "/api/v2/files/upload"
	}
	return e.do(t, http.MethodPost, path, user, body, ct)
}

func (e *testEmulator) getJSON(t testing.TB, path string) response {
	t.Helper()
	return e.do(t, http.MethodGet, path, testKey, nil, "")
}

func (e *testEmulator) postJSON(t testing.TB, path string, v any) response {
	t.Helper()
	b, _ := json.Marshal(v)
	return e.do(t, http.MethodPost, path, testKey, bytes.NewReader(b), "application/json")
}

// pngImage returns a w×h PNG; alpha makes it translucent.
func pngImage(t testing.TB, w, h int, alpha bool) []byte {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			a := uint8(255)
			if alpha {
				a = uint8(x % 256)
			}
			img.Set(x, y, color.NRGBA{uint8(x), uint8(y), 100, a})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// wantError checks an ImageKit error answer: status, message and the help text.
func wantError(t testing.TB, r response, status int, message string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Raw)
	}
	if got := r.str("message"); got != message {
		t.Fatalf("message %q, want %q", got, message)
	}
	wantHelp := helpText
	if status == http.StatusForbidden {
		wantHelp = helpText403
	}
	if r.str("help") != wantHelp {
		t.Fatalf("help %q, want %q", r.str("help"), wantHelp)
	}
}

func wantOK(t testing.TB, r response) {
	t.Helper()
	if r.Status != http.StatusOK {
		t.Fatalf("status %d, want 200; body %s", r.Status, r.Raw)
	}
}

// webhookSink records the requests it receives; fail answers with that status
// for the first failFirst requests.
type webhookSink struct {
	ts       *httptest.Server
	requests chan capturedRequest
}

type capturedRequest struct {
	Header http.Header
	Body   []byte
}

func newWebhookSink(t testing.TB, failFirst int, failStatus int) *webhookSink {
	t.Helper()
	s := &webhookSink{requests: make(chan capturedRequest, 100)}
	var n atomic.Int32
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if int(n.Add(1)) <= failFirst {
			w.WriteHeader(failStatus)
			return
		}
		s.requests <- capturedRequest{Header: r.Header.Clone(), Body: body}
	}))
	t.Cleanup(s.ts.Close)
	return s
}

// next waits for the next delivered request.
func (s *webhookSink) next(t testing.TB) capturedRequest {
	t.Helper()
	select {
	case r := <-s.requests:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no webhook arrived within 10s")
		return capturedRequest{}
	}
}
