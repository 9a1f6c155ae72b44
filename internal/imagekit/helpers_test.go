package imagekit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
)

const testKey = "private_imagekitTestKey42"

// testEnv is an emulator served over HTTP on loopback and a client pointed at it.
type testEnv struct {
	srv    *emulator.Server
	URL    string
	client *Client
}

func newEnv(t testing.TB, configure func(*emulator.Config)) *testEnv {
	t.Helper()
	cfg := emulator.Config{
		PrivateKey:      testKey,
		FetchAllow:      []string{"127.0.0.0/8", "::1"}, // URL sources are loopback servers
		ExtensionDelay:  20 * time.Millisecond,
		WebhookRetryFor: 2 * time.Second,
		WebhookTimeout:  2 * time.Second,
	}
	if configure != nil {
		configure(&cfg)
	}
	srv, err := emulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return &testEnv{srv: srv, URL: ts.URL, client: clientFor(ts.URL, testKey)}
}

func clientFor(base, key string) *Client {
	return &Client{UploadURL: base + "/api/v1/files/upload", APIBase: base, PrivateKey: key}
}

// post sends JSON to an emulator route with the private key and fails the test
// unless the answer is 2xx.
func (e *testEnv) post(t testing.TB, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth(testKey, "")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = resp.Body.Close() }()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
}

// fault scripts the emulator's next uploads, e.g. {"status":500,"count":1}.
func (e *testEnv) fault(t testing.TB, script string) { e.post(t, "/_emulator/faults", script) }

// pngBytes is a w×h PNG.
func pngBytes(t testing.TB, w, h int) []byte { return ikqtest.PNG(t, 3, w, h) }

func ptr[T any](v T) *T { return &v }

// asError returns err as an *Error, failing the test if it is not one.
func asError(t testing.TB, err error) *Error {
	t.Helper()
	if err == nil {
		t.Fatal("upload succeeded, want an error")
	}
	e, ok := err.(*Error) //nolint:errorlint // the client returns *Error itself, unwrapped
	if !ok {
		t.Fatalf("error %T %v, want *imagekit.Error", err, err)
	}
	return e
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// generated is header followed by zeros, n bytes in all, made while it is read.
func generated(header []byte, n int64) io.Reader {
	return io.MultiReader(bytes.NewReader(header), io.LimitReader(zeros{}, n-int64(len(header))))
}

// recordedPart is one multipart part a recorder received.
type recordedPart struct {
	Name, FileName, ContentType string
	Value                       []byte
}

// recording is what a recorder saw of one request.
type recording struct {
	Method, Path, UserAgent string
	User, Password          string
	BasicOK                 bool
	ContentLength           int64
	TransferEncoding        []string
	Parts                   []recordedPart
}

func (r recording) field(name string) (string, bool) {
	for _, p := range r.Parts {
		if p.Name == name {
			return string(p.Value), true
		}
	}
	return "", false
}

// recorder is an HTTP server that parses the multipart uploads it receives and
// answers a canned success.
type recorder struct {
	URL  string
	mu   sync.Mutex
	reqs []recording
}

func newRecorder(t testing.TB) *recorder {
	t.Helper()
	rec := &recorder{}
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got := recording{
			Method: r.Method, Path: r.URL.Path, UserAgent: r.UserAgent(),
			ContentLength: r.ContentLength, TransferEncoding: r.TransferEncoding,
		}
		got.User, got.Password, got.BasicOK = r.BasicAuth()
		mr, err := r.MultipartReader()
		if err != nil {
			http.Error(w, `{"message":"not multipart"}`, http.StatusBadRequest)
			return
		}
		for {
			p, err := mr.NextPart()
			if err == io.EOF {
				break
			}
			if err != nil {
				http.Error(w, `{"message":"bad multipart"}`, http.StatusBadRequest)
				return
			}
			v, _ := io.ReadAll(p)
			got.Parts = append(got.Parts, recordedPart{Name: p.FormName(), FileName: p.FileName(), ContentType: p.Header.Get("Content-Type"), Value: v})
		}
		rec.mu.Lock()
		rec.reqs = append(rec.reqs, got)
		rec.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		w.Header()["x-ik-requestId"] = []string{"rec-1"}
		_ = json.NewEncoder(w).Encode(map[string]any{"fileId": "rec", "name": "rec", "size": 1})
	}))
	t.Cleanup(ts.Close)
	rec.URL = ts.URL
	return rec
}

func (rec *recorder) client() *Client { return clientFor(rec.URL, testKey) }

func (rec *recorder) requests() []recording {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]recording(nil), rec.reqs...)
}

func (rec *recorder) last(t testing.TB) recording {
	t.Helper()
	r := rec.requests()
	if len(r) == 0 {
		t.Fatal("the recorder received no request")
	}
	return r[len(r)-1]
}

// writerGoroutines counts goroutines running the multipart body writer.
func writerGoroutines() int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	return strings.Count(string(buf), "imagekit.writeBody(")
}
