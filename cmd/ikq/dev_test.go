package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestDevHonoursMaxFileSize runs `ikq dev` with IKQ_MAX_FILE_SIZE=1KB: a source under
// it uploads, one over it fails as too large, as it would under `ikq worker`.
func TestDevHonoursMaxFileSize(t *testing.T) {
	t.Setenv("IKQ_MAX_FILE_SIZE", "1KB")
	t.Setenv("IMAGEKIT_PRIVATE_KEY", "") // the emulator is the upload target
	redisURL := redistest.New(t).URL()
	files := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := 100
		if r.URL.Path == "/big.txt" {
			n = 4000
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write([]byte(strings.Repeat("x", n)))
	}))
	t.Cleanup(files.Close)

	ctx, cancel := context.WithCancel(context.Background())
	stdout, stderr := &ikqtest.LockedBuffer{}, &ikqtest.LockedBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"dev", "--redis-url", redisURL, "--listen", "127.0.0.1:0", "--emulator-listen", "127.0.0.1:0"}, stdout, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("ikq dev exited %d after its context ended:\n%s", code, stderr.String())
			}
		case <-time.After(time.Minute):
			t.Errorf("ikq dev still running a minute after its context ended")
		}
	})
	apiLine := regexp.MustCompile(`API\s+(http://\S+)/v1/uploads`)
	var api string
	for deadline := time.Now().Add(30 * time.Second); api == "" && time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		select {
		case code := <-done:
			t.Fatalf("ikq dev exited %d at start:\n%s", code, stderr.String())
		default:
		}
		if m := apiLine.FindStringSubmatch(stdout.String()); m != nil {
			api = m[1]
		}
	}
	if api == "" {
		t.Fatalf("ikq dev printed no API URL within 30s:\n%s\n%s", stdout.String(), stderr.String())
	}

	type record struct {
		ID     string `json:"id"`
		Status string `json:"status"`
		Error  *struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	upload := func(name string) record {
		t.Helper()
		body := `{"file": "` + files.URL + `/` + name + `", "fileName": "` + name + `", "maxAttempts": 1}`
		resp, err := http.Post(api+"/v1/uploads", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer func() { _ = resp.Body.Close() }()
		var rec record
		if err := json.NewDecoder(resp.Body).Decode(&rec); err != nil || rec.ID == "" {
			t.Fatalf("POST /v1/uploads %s: %s, %v", name, resp.Status, err)
		}
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			resp, err := http.Get(api + "/v1/uploads/" + rec.ID)
			if err != nil {
				t.Fatal(err)
			}
			err = json.NewDecoder(resp.Body).Decode(&rec)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if rec.Status == "completed" || rec.Status == "failed" || rec.Status == "canceled" {
				return rec
			}
		}
		t.Fatalf("job %s (%s) did not end within a minute: %s", rec.ID, name, rec.Status)
		return rec
	}
	if rec := upload("small.txt"); rec.Status != "completed" {
		t.Errorf("a 100-byte source under IKQ_MAX_FILE_SIZE=1KB: %+v, want completed", rec)
	}
	rec := upload("big.txt")
	if rec.Status != "failed" || rec.Error == nil || !strings.Contains(strings.ToLower(rec.Error.Code+" "+rec.Error.Message), "large") {
		t.Errorf("a 4000-byte source over IKQ_MAX_FILE_SIZE=1KB: %+v, want failed as too large", rec)
	}
}
