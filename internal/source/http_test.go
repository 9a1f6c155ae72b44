package source_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/internal/source"
)

// scripted serves the statuses in order, repeating the last; 2xx answers carry
// body. It counts requests.
type scripted struct {
	statuses   []int
	retryAfter string
	body       []byte
	n          atomic.Int32
}

func (s *scripted) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	i := int(s.n.Add(1)) - 1
	code := s.statuses[min(i, len(s.statuses)-1)]
	if code/100 != 2 {
		if s.retryAfter != "" {
			w.Header().Set("Retry-After", s.retryAfter)
		}
		http.Error(w, http.StatusText(code), code)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.WriteHeader(code)
	w.Write(s.body)
}

func repeat(code, n int) []int { return slices.Repeat([]int{code}, n) }

func TestOpenHTTPStatus(t *testing.T) {
	t.Parallel()
	type want struct {
		ok        bool
		kind      source.Kind
		retryable bool
		status    int
		attempts  int // 0: at least 2, equal to the waits + 1
	}
	tests := []struct {
		name       string
		statuses   []int
		retryAfter string
		cfg        source.Config
		want       want
		waits      []time.Duration // when set, exactly these waits
	}{
		{name: "200", statuses: []int{200}, want: want{ok: true, attempts: 1}},
		{name: "206 is a success too", statuses: []int{206}, want: want{ok: true, attempts: 1}},
		{name: "404", statuses: []int{404}, want: want{kind: source.KindNotFound, status: 404, attempts: 1}},
		{name: "410", statuses: []int{410}, want: want{kind: source.KindNotFound, status: 410, attempts: 1}},
		{name: "401", statuses: []int{401}, want: want{kind: source.KindForbidden, status: 401, attempts: 1}},
		{name: "403", statuses: []int{403}, want: want{kind: source.KindForbidden, status: 403, attempts: 1}},
		{name: "400", statuses: []int{400}, want: want{kind: source.KindInvalid, status: 400, attempts: 1}},
		{name: "418", statuses: []int{418}, want: want{kind: source.KindInvalid, status: 418, attempts: 1}},
		{name: "304 not followed", statuses: []int{304}, want: want{kind: source.KindInvalid, status: 304, attempts: 1}},
		{name: "500 then 200", statuses: []int{500, 200}, want: want{ok: true, attempts: 2}},
		{name: "503 x3 then 200", statuses: append(repeat(503, 3), 200), want: want{ok: true, attempts: 4}},
		{name: "408 then 200", statuses: []int{408, 200}, want: want{ok: true, attempts: 2}},
		{
			name: "429 with Retry-After 2", statuses: []int{429, 200}, retryAfter: "2",
			want: want{ok: true, attempts: 2}, waits: []time.Duration{2 * time.Second},
		},
		{
			name: "503 with Retry-After over RetryMax", statuses: []int{503, 200}, retryAfter: "120",
			want: want{ok: true, attempts: 2}, waits: []time.Duration{source.DefaultRetryMax},
		},
		{
			name: "503 with Retry-After as a date", statuses: []int{503, 200}, retryAfter: "Mon, 02 Jan 2006 15:04:05 GMT",
			want: want{ok: true, attempts: 2}, waits: []time.Duration{0},
		},
		{
			name: "500 forever", statuses: []int{500},
			cfg:  source.Config{RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RetryElapsed: 200 * time.Millisecond},
			want: want{kind: source.KindUnavailable, retryable: true, status: 500},
		},
		{
			name: "429 forever", statuses: []int{429},
			cfg:  source.Config{RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RetryElapsed: 200 * time.Millisecond},
			want: want{kind: source.KindUnavailable, retryable: true, status: 429},
		},
		{
			name: "408 forever", statuses: []int{408},
			cfg:  source.Config{RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RetryElapsed: 200 * time.Millisecond},
			want: want{kind: source.KindTimeout, retryable: true, status: 408},
		},
		{
			name: "Retry-After past RetryElapsed gives up at once", statuses: []int{503}, retryAfter: "5",
			cfg:  source.Config{RetryElapsed: 3 * time.Second},
			want: want{kind: source.KindUnavailable, retryable: true, status: 503, attempts: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			h := &scripted{statuses: tt.statuses, retryAfter: tt.retryAfter, body: pngBytes}
			srv := httptest.NewServer(h)
			t.Cleanup(srv.Close)
			o, s := newOpener(tt.cfg)

			src, err := o.Open(t.Context(), srv.URL+"/img/photo.png")
			waits := s.waits()
			attempts := 0
			if tt.want.ok {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				if got := readAll(t, src); !bytes.Equal(got, pngBytes) {
					t.Errorf("body: got %d bytes, want the %d served", len(got), len(pngBytes))
				}
				if src.Name != "photo.png" || src.Size != int64(len(pngBytes)) || src.ContentType != "image/png" {
					t.Errorf("got Name %q Size %d ContentType %q", src.Name, src.Size, src.ContentType)
				}
				attempts = src.Attempts
			} else {
				if err == nil {
					_ = src.Body.Close()
					t.Fatal("Open succeeded, want an error")
				}
				e := sourceError(t, err)
				if e.Kind != tt.want.kind || e.Retryable != tt.want.retryable || e.Status != tt.want.status {
					t.Errorf("got Kind %v Retryable %v Status %d, want %v %v %d (%v)",
						e.Kind, e.Retryable, e.Status, tt.want.kind, tt.want.retryable, tt.want.status, err)
				}
				attempts = e.Attempts
			}
			if got := int(h.n.Load()); got != attempts {
				t.Errorf("Attempts %d, but the server saw %d requests", attempts, got)
			}
			if len(waits) != attempts-1 {
				t.Errorf("Attempts %d after %d waits %v, want one more attempt than waits", attempts, len(waits), waits)
			}
			if tt.want.attempts != 0 && attempts != tt.want.attempts {
				t.Errorf("Attempts %d, want %d", attempts, tt.want.attempts)
			}
			if tt.want.attempts == 0 {
				if attempts < 2 {
					t.Errorf("Attempts %d, want retries", attempts)
				}
				var total time.Duration
				for _, w := range waits {
					total += w
					if w > tt.cfg.RetryMax*3/2 {
						t.Errorf("wait %v is over RetryMax %v plus jitter", w, tt.cfg.RetryMax)
					}
				}
				if total > tt.cfg.RetryElapsed {
					t.Errorf("waits %v add up to more than RetryElapsed %v", waits, tt.cfg.RetryElapsed)
				}
			}
			if tt.waits != nil && !slices.Equal(waits, tt.waits) {
				t.Errorf("waits %v, want %v", waits, tt.waits)
			}
		})
	}
}

func TestOpenHTTPBackoffGrows(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&scripted{statuses: []int{500}})
	t.Cleanup(srv.Close)
	o, s := newOpener(source.Config{RetryInitial: 100 * time.Millisecond, RetryMax: time.Second, RetryElapsed: 5 * time.Second})
	_, err := o.Open(t.Context(), srv.URL)
	if e := sourceError(t, err); e.Kind != source.KindUnavailable || !e.Retryable {
		t.Fatalf("got %v", err)
	}
	waits := s.waits()
	// With jitter of ±50% and a multiplier of 1.5, the first wait is in
	// [50ms, 150ms], and the waits reach RetryMax's range.
	if len(waits) < 3 || waits[0] < 50*time.Millisecond || waits[0] > 150*time.Millisecond {
		t.Fatalf("waits %v", waits)
	}
	if last := slices.Max(waits); last < 500*time.Millisecond || last > 1500*time.Millisecond {
		t.Errorf("longest wait %v, want RetryMax ±50%%", last)
	}
}

func TestOpenHTTPConnectionRefused(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close()
	o, s := newOpener(source.Config{RetryInitial: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RetryElapsed: 100 * time.Millisecond})
	_, err := o.Open(t.Context(), addr+"/x")
	e := sourceError(t, err)
	if e.Kind != source.KindUnavailable || !e.Retryable || e.Status != 0 || e.Attempts < 2 || e.Attempts != len(s.waits())+1 {
		t.Fatalf("got Kind %v Retryable %v Status %d Attempts %d after waits %v: %v", e.Kind, e.Retryable, e.Status, e.Attempts, s.waits(), err)
	}
}

func TestOpenHTTPHeaderTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) }) // runs first: lets the handlers return

	o, s := newOpener(source.Config{
		HeaderTimeout: 100 * time.Millisecond,
		RetryInitial:  10 * time.Millisecond, RetryMax: 20 * time.Millisecond, RetryElapsed: 250 * time.Millisecond,
	})
	_, err := o.Open(t.Context(), srv.URL+"/slow.jpg")
	e := sourceError(t, err)
	if e.Kind != source.KindTimeout || !e.Retryable || e.Status != 0 {
		t.Fatalf("got Kind %v Retryable %v Status %d: %v", e.Kind, e.Retryable, e.Status, err)
	}
	if e.Attempts < 2 || e.Attempts != len(s.waits())+1 || int(requests.Load()) != e.Attempts {
		t.Errorf("Attempts %d, waits %v, requests %d", e.Attempts, s.waits(), requests.Load())
	}
}

func TestOpenHTTPHeaderTimeoutDoesNotCutBody(t *testing.T) {
	t.Parallel()
	chunk := bytes.Repeat([]byte("x"), 100)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(http.StatusOK)
		for range 6 {
			w.Write(chunk)
			w.(http.Flusher).Flush()
			select {
			case <-time.After(50 * time.Millisecond): // 300ms in all, 3x the header timeout
			case <-r.Context().Done():
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	o, _ := newOpener(source.Config{HeaderTimeout: 100 * time.Millisecond})
	src, err := o.Open(t.Context(), srv.URL+"/stream.txt")
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, src); len(got) != 600 {
		t.Fatalf("got %d bytes, want 600", len(got))
	}
}

// redirector redirects /r/N to /r/N-1, and /r/0 to the file.
func redirector() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/r/{n}", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.PathValue("n"))
		if n == 0 {
			http.Redirect(w, r, "/files/final%20name.png", http.StatusFound)
			return
		}
		http.Redirect(w, r, fmt.Sprintf("/r/%d", n-1), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/files/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/png")
		w.Write(pngBytes)
	})
	mux.HandleFunc("/ftp", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "ftp://example.com/file.png", http.StatusFound)
	})
	return mux
}

func TestOpenHTTPRedirects(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(redirector())
	t.Cleanup(srv.Close)
	tests := []struct {
		name         string
		maxRedirects int
		path         string // /r/2 redirects 3 times
		wantErr      bool
	}{
		{"3 under the default of 5", 0, "/r/2", false},
		{"5, the default", 0, "/r/4", false},
		{"6, one over the default", 0, "/r/5", true},
		{"3 of 3", 3, "/r/2", false},
		{"3 over 2", 2, "/r/2", true},
		{"none allowed", -1, "/r/0", true},
		{"to ftp", 0, "/ftp", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			o, _ := newOpener(source.Config{MaxRedirects: tt.maxRedirects})
			src, err := o.Open(t.Context(), srv.URL+tt.path)
			if tt.wantErr {
				e := sourceError(t, err)
				if e.Kind != source.KindInvalid || e.Retryable || e.Attempts != 1 {
					t.Fatalf("got Kind %v Retryable %v Attempts %d: %v", e.Kind, e.Retryable, e.Attempts, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if src.Name != "final name.png" {
				t.Errorf("Name %q, want the final URL's", src.Name)
			}
			if got := readAll(t, src); !bytes.Equal(got, pngBytes) {
				t.Error("body differs")
			}
		})
	}
}

func TestOpenHTTPContentLengthTooLarge(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10000")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		// No body: an Opener that read it would wait here.
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	o, s := newOpener(source.Config{MaxSize: 1000})
	_, err := o.Open(t.Context(), srv.URL+"/big.bin")
	e := sourceError(t, err)
	if e.Kind != source.KindTooLarge || e.Retryable || e.Status != 200 || e.Attempts != 1 || len(s.waits()) != 0 {
		t.Fatalf("got Kind %v Retryable %v Status %d Attempts %d: %v", e.Kind, e.Retryable, e.Status, e.Attempts, err)
	}
	if !errors.Is(err, source.ErrTooLarge) {
		t.Errorf("%v does not match ErrTooLarge", err)
	}
}

func TestOpenHTTPStreamingCap(t *testing.T) {
	t.Parallel()
	const limit = 1000
	tests := []struct {
		name        string
		size        int
		contentType string // "" sends none, so the body is sniffed
		wantErr     bool
	}{
		{"over, typed", 3000, "application/x-test", true},
		{"over, sniffed", 5000, "", true},
		{"exactly the limit", limit, "application/x-test", false},
		{"exactly the limit, sniffed", limit, "", false},
		{"under", 10, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := pseudoRandom(tt.size)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.contentType == "" {
					w.Header()["Content-Type"] = nil // keep net/http from sniffing for us
				} else {
					w.Header().Set("Content-Type", tt.contentType)
				}
				// Flushing before the end makes the response chunked: no Content-Length.
				for b := range slices.Chunk(data, 100) {
					w.Write(b)
					w.(http.Flusher).Flush()
				}
			}))
			t.Cleanup(srv.Close)
			o, _ := newOpener(source.Config{MaxSize: limit})
			src, err := o.Open(t.Context(), srv.URL+"/stream")
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = src.Body.Close() }()
			if src.Size != -1 {
				t.Errorf("Size %d, want -1 (chunked)", src.Size)
			}
			got, err := io.ReadAll(src.Body)
			if !tt.wantErr {
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("got %d bytes, %v; want the %d served", len(got), err, len(data))
				}
				return
			}
			if !errors.Is(err, source.ErrTooLarge) {
				t.Fatalf("ReadAll: %v, want ErrTooLarge", err)
			}
			if e := sourceError(t, err); e.Kind != source.KindTooLarge || e.Retryable {
				t.Errorf("got Kind %v Retryable %v", e.Kind, e.Retryable)
			}
			if !bytes.Equal(got, data[:limit]) {
				t.Errorf("delivered %d bytes before the error, want exactly the first %d", len(got), limit)
			}
			if n, err := src.Body.Read(make([]byte, 10)); n != 0 || !errors.Is(err, source.ErrTooLarge) {
				t.Errorf("Read after the limit: %d, %v", n, err)
			}
		})
	}
}

func TestOpenHTTPName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		path, disposition, want string
	}{
		{"/dir/my%20photo.jpg", "", "my photo.jpg"},
		{"/dir/caf%C3%A9.png", "", "café.png"},
		{"/dir/a%2Fb.png", "", "b.png"}, // an escaped slash still makes no directory
		{"/", "", ""},
		{"/dir/", "", ""},
		{"/download?id=7", `attachment; filename="report 2024.pdf"`, "report 2024.pdf"},
		{"/download", `attachment; filename*=UTF-8''na%C3%AFve.txt`, "naïve.txt"},
		{"/download", `attachment; filename="../../etc/passwd"`, "passwd"},
		{"/download", `attachment; filename="C:\\temp\\x.png"`, "x.png"},
		{"/fallback.png", `attachment; filename=""`, "fallback.png"},
		{"/fallback.png", `attachment; filename=a b`, "fallback.png"}, // unparseable
		{"/fallback.png", `inline`, "fallback.png"},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.disposition, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.disposition != "" {
					w.Header().Set("Content-Disposition", tt.disposition)
				}
				w.Write([]byte("content"))
			}))
			t.Cleanup(srv.Close)
			o, _ := newOpener(source.Config{})
			src, err := o.Open(t.Context(), srv.URL+tt.path)
			if err != nil {
				t.Fatal(err)
			}
			_ = src.Body.Close()
			if src.Name != tt.want {
				t.Errorf("Name %q, want %q", src.Name, tt.want)
			}
		})
	}
}

func TestOpenHTTPContentType(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		header string // "-" sends none
		body   []byte
		want   string
	}{
		{"specific header wins over the bytes", "image/jpeg", pngBytes, "image/jpeg"},
		{"octet-stream is sniffed", "application/octet-stream", pngBytes, "image/png"},
		{"no header is sniffed", "-", pngBytes, "image/png"},
		{"parameters dropped", "text/plain; charset=utf-8", []byte("hello"), "text/plain"},
		{"lower-cased", "IMAGE/PNG", pngBytes, "image/png"},
		{"garbage header is sniffed", "not a type", pngBytes, "image/png"},
		{"unknown bytes", "-", pseudoRandom(100), "application/octet-stream"},
		{"empty body", "-", nil, "application/octet-stream"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.header == "-" {
					w.Header()["Content-Type"] = nil
				} else {
					w.Header().Set("Content-Type", tt.header)
				}
				w.Write(tt.body)
			}))
			t.Cleanup(srv.Close)
			o, _ := newOpener(source.Config{})
			src, err := o.Open(t.Context(), srv.URL+"/file")
			if err != nil {
				t.Fatal(err)
			}
			if src.ContentType != tt.want {
				t.Errorf("ContentType %q, want %q", src.ContentType, tt.want)
			}
			if got := readAll(t, src); !bytes.Equal(got, tt.body) {
				t.Errorf("sniffing consumed bytes: got %d, want %d", len(got), len(tt.body))
			}
		})
	}
}

func TestOpenHTTPUserAgentAndAuth(t *testing.T) {
	t.Parallel()
	type seen struct{ ua, user, pass string }
	got := make(chan seen, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, _ := r.BasicAuth()
		got <- seen{r.UserAgent(), u, p}
		w.Write([]byte("ok"))
	}))
	t.Cleanup(srv.Close)
	o, _ := newOpener(source.Config{UserAgent: "ikq-test/1"})
	u, _ := url.Parse(srv.URL)
	u.User = url.UserPassword("user", "secret")
	src, err := o.Open(t.Context(), u.String())
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, src)
	if s := <-got; s != (seen{"ikq-test/1", "user", "secret"}) {
		t.Errorf("server saw %+v", s)
	}
}

// TestErrorsRedacted checks that no failure's message carries the URL's
// userinfo or secret parameters, whatever path it took.
func TestErrorsRedacted(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	mux := http.NewServeMux()
	mux.Handle("/404/", &scripted{statuses: []int{404}})
	mux.Handle("/500/", &scripted{statuses: []int{500}})
	mux.Handle("/r/", redirector())
	mux.HandleFunc("/hang/", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/big/", func(w http.ResponseWriter, r *http.Request) {
		w.Write(pseudoRandom(5000))
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	const secrets = "?X-Amz-Signature=abc&token=hunter2"
	withSecrets := func(base, path string) string {
		return strings.Replace(base, "http://", "http://user:secret@", 1) + path + secrets
	}
	refs := []string{
		withSecrets(srv.URL, "/404/a.png"),
		withSecrets(srv.URL, "/500/a.png"),
		withSecrets(srv.URL, "/r/9"),
		withSecrets(srv.URL, "/hang/a.png"),
		withSecrets(closed.URL, "/a.png"),
		"ftp://user:secret@example.com/a.png" + secrets,
		"http://user:secret@[::1" + secrets, // unparseable
		"file://user:secret@host/a.png" + secrets,
		"data:image/png;base64,secret" + secrets,
		"secret$secret",
	}
	o, _ := newOpener(source.Config{
		HeaderTimeout: 50 * time.Millisecond, MaxRedirects: 2, MaxSize: 1000,
		RetryInitial: 5 * time.Millisecond, RetryMax: 10 * time.Millisecond, RetryElapsed: 30 * time.Millisecond,
	})
	check := func(ref string, err error) {
		t.Helper()
		msg := err.Error() + fmt.Sprintf(" %+v %#v", err, errors.Unwrap(err))
		for _, secret := range []string{"user", "secret", "abc", "hunter2"} {
			if strings.Contains(msg, secret) {
				t.Errorf("%s: error %q reveals %q", ref, msg, secret)
			}
		}
		var ue *url.Error
		if errors.As(err, &ue) {
			t.Errorf("%s: error wraps a *url.Error, which quotes the URL", ref)
		}
	}
	for _, ref := range refs {
		_, err := o.Open(t.Context(), ref)
		if err == nil {
			t.Errorf("Open(%q) succeeded", ref)
			continue
		}
		check(ref, err)
	}
	src, err := o.Open(t.Context(), withSecrets(srv.URL, "/big/a.bin"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = src.Body.Close() }()
	_, err = io.ReadAll(src.Body)
	if !errors.Is(err, source.ErrTooLarge) {
		t.Fatalf("ReadAll: %v", err)
	}
	check("read past the limit", err)
	if e := sourceError(t, err); e.Ref != srv.URL+"/big/a.bin?X-Amz-Signature=REDACTED&token=REDACTED" {
		t.Errorf("Ref %q", e.Ref)
	}
}

func TestOpenHTTPContextCanceled(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(&scripted{statuses: []int{500}})
	t.Cleanup(srv.Close)

	t.Run("before", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		o, _ := newOpener(source.Config{})
		_, err := o.Open(ctx, srv.URL)
		if !errors.Is(err, context.Canceled) || !sourceError(t, err).Retryable {
			t.Fatalf("got %v", err)
		}
	})
	t.Run("while waiting to retry", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		o, _ := newOpener(source.Config{Sleep: func(ctx context.Context, d time.Duration) error {
			cancel()
			return ctx.Err()
		}})
		_, err := o.Open(ctx, srv.URL)
		e := sourceError(t, err)
		if !errors.Is(err, context.Canceled) || !e.Retryable || e.Attempts != 1 {
			t.Fatalf("got Attempts %d: %v", e.Attempts, err)
		}
	})
	t.Run("deadline", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
		defer cancel()
		o, _ := newOpener(source.Config{})
		_, err := o.Open(ctx, srv.URL)
		if e := sourceError(t, err); e.Kind != source.KindTimeout || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOpenHTTPDefaultSleep(t *testing.T) {
	t.Parallel()
	t.Run("waits and retries", func(t *testing.T) {
		t.Parallel()
		srv := httptest.NewServer(&scripted{statuses: []int{500, 200}, body: pngBytes})
		t.Cleanup(srv.Close)
		o := source.New(source.Config{RetryInitial: time.Millisecond})
		src, err := o.Open(t.Context(), srv.URL)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, src)
		if src.Attempts != 2 {
			t.Errorf("Attempts %d", src.Attempts)
		}
	})
	t.Run("stops when ctx ends", func(t *testing.T) {
		t.Parallel()
		ctx, cancel := context.WithCancel(t.Context())
		first := make(chan struct{})
		h := &scripted{statuses: []int{500}}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if h.n.Load() == 0 {
				close(first)
			}
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		go func() {
			<-first
			cancel()
		}()
		o := source.New(source.Config{RetryInitial: time.Hour, RetryMax: time.Hour, RetryElapsed: 24 * time.Hour})
		_, err := o.Open(ctx, srv.URL)
		if !errors.Is(err, context.Canceled) || !sourceError(t, err).Retryable {
			t.Fatalf("got %v", err)
		}
	})
}

func TestOpenHTTPClientNotModified(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(redirector())
	t.Cleanup(srv.Close)
	var called atomic.Bool
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
		called.Store(true)
		return nil
	}}
	o, _ := newOpener(source.Config{HTTPClient: client, MaxRedirects: 1})
	_, err := o.Open(t.Context(), srv.URL+"/r/3")
	if e := sourceError(t, err); e.Kind != source.KindInvalid {
		t.Fatalf("got %v", err)
	}
	if called.Load() {
		t.Error("the caller's CheckRedirect ran; the Opener should use its own on a copy")
	}
	if client.CheckRedirect == nil {
		t.Error("the caller's client was modified")
	}
}

// A guarded client's refusal is permanent and forbidden: no backoff, no retry by
// the job, and a message that says how to allow the address.
func TestOpenHTTPRefusedByGuard(t *testing.T) {
	t.Parallel()
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Write(pngBytes)
	}))
	t.Cleanup(srv.Close)
	guard, err := netguard.New(netguard.Config{})
	if err != nil {
		t.Fatal(err)
	}
	o, sl := newOpener(source.Config{HTTPClient: guard.Client(0)})
	_, err = o.Open(t.Context(), srv.URL+"/a.png?sig=s3cret")
	e := sourceError(t, err)
	if e.Kind != source.KindForbidden || e.Retryable || e.Attempts != 1 {
		t.Fatalf("got Kind %v Retryable %v Attempts %d: %v; want forbidden, permanent, 1 attempt", e.Kind, e.Retryable, e.Attempts, err)
	}
	want := "refused: 127.0.0.1 resolves to a private/loopback/link-local/metadata address; allow it with IKQ_FETCH_ALLOW"
	if !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("error %q; want it to hold %q and no query", err, want)
	}
	if !errors.Is(err, netguard.ErrRefused) {
		t.Errorf("error %v does not match netguard.ErrRefused", err)
	}
	if len(sl.waits()) != 0 || hits.Load() != 0 {
		t.Errorf("%d backoff waits, %d requests; want none", len(sl.waits()), hits.Load())
	}

	// Allowed, the same source opens.
	guard, err = netguard.New(netguard.Config{Allow: []string{"127.0.0.0/8"}})
	if err != nil {
		t.Fatal(err)
	}
	o, _ = newOpener(source.Config{HTTPClient: guard.Client(0)})
	src, err := o.Open(t.Context(), srv.URL+"/a.png")
	if err != nil {
		t.Fatalf("with 127.0.0.0/8 allowed: %v", err)
	}
	if got := readAll(t, src); !bytes.Equal(got, pngBytes) {
		t.Error("body differs")
	}
}
