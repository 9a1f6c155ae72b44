package producer_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ikq-dev/ikq/internal/callback"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// An app's callback endpoint: it verifies each callback and acts on each once.
func ExampleVerifyCallback() {
	secret := os.Getenv("IKQ_CALLBACK_SECRET") // "whsec_…", the same as ikq's
	var seen sync.Map                          // webhook-id → struct{}; a real app keeps these in its database

	http.HandleFunc("POST /hooks/ikq", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		if err != nil {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		job, err := producer.VerifyCallback(secret, r.Header, body)
		if err != nil {
			http.Error(w, "bad signature", http.StatusUnauthorized) // ikq retries; a forger gets nothing
			return
		}
		// ikq retries until it gets a 2xx, so a callback may come twice: same webhook-id.
		if _, dup := seen.LoadOrStore(r.Header.Get("webhook-id"), struct{}{}); dup {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		fmt.Printf("job %s is %s\n", job.ID, job.Status)
		w.WriteHeader(http.StatusNoContent)
	})
}

const cbSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// signedCallback has a Deliverer send a finished job's callback and returns what the
// app received.
func signedCallback(t *testing.T) (http.Header, []byte, string) {
	t.Helper()
	var (
		mu     sync.Mutex
		header http.Header
		body   []byte
	)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		header, body = r.Header.Clone(), b
		mu.Unlock()
	}))
	t.Cleanup(app.Close)

	store := jobstore.New(redistest.New(t).Client(t), jobstore.Options{})
	u := tasks.Upload{File: "https://example.com/a.jpg", FileName: "a.jpg", CallbackURL: app.URL}
	spec, _ := json.Marshal(u)
	job, _, err := store.Create(t.Context(), &jobstore.Job{Queue: "default", MaxAttempts: 1, Request: spec}, spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Transition(t.Context(), job.ID, jobstore.StatusCanceled, "canceled", nil); err != nil {
		t.Fatal(err)
	}
	d, err := callback.New(callback.Config{Store: store, Secret: cbSecret})
	if err != nil {
		t.Fatal(err)
	}
	task, _ := tasks.NewCallbackTask(job.ID, tasks.EventCanceled)
	if err := d.HandleCallback(t.Context(), task); err != nil {
		t.Fatalf("HandleCallback: %v", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if body == nil {
		t.Fatal("the app got no callback")
	}
	return header, body, job.ID
}

func TestVerifyCallback(t *testing.T) {
	t.Parallel()
	header, body, id := signedCallback(t)

	job, err := producer.VerifyCallback(cbSecret, header, body)
	if err != nil {
		t.Fatalf("VerifyCallback: %v", err)
	}
	if job.ID != id || job.Status != jobstore.StatusCanceled {
		t.Errorf("job = %s %s, want %s canceled", job.ID, job.Status, id)
	}
	// Any Standard Webhooks library verifies ikq's callbacks.
	wh, err := standardwebhooks.NewWebhook(cbSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(body, header); err != nil {
		t.Errorf("standard-webhooks library: %v", err)
	}

	// resign signs body as ikq would, at ts.
	resign := func(body []byte, ts time.Time) http.Header {
		h := header.Clone()
		sig, _ := wh.Sign(h.Get("webhook-id"), ts, body)
		h.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
		h.Set("webhook-signature", sig)
		return h
	}
	without := func(name string) http.Header {
		h := header.Clone()
		h.Del(name)
		return h
	}
	with := func(name, value string) http.Header {
		h := header.Clone()
		h.Set(name, value)
		return h
	}
	tampered := append([]byte(nil), body...)
	tampered[len(tampered)-2] ^= 1
	otherSecret := "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldY"
	notJob := []byte(`["not", "a", "job"]`)

	for _, tc := range []struct {
		name   string
		secret string
		header http.Header
		body   []byte
		want   error
	}{
		{"tampered body", cbSecret, header, tampered, producer.ErrCallbackSignature},
		{"wrong secret", otherSecret, header, body, producer.ErrCallbackSignature},
		{"other webhook-id", cbSecret, with("webhook-id", "cb_"+id+"_completed"), body, producer.ErrCallbackSignature},
		{"old timestamp", cbSecret, resign(body, time.Now().Add(-6*time.Minute)), body, producer.ErrCallbackTimestamp},
		{"future timestamp", cbSecret, resign(body, time.Now().Add(6*time.Minute)), body, producer.ErrCallbackTimestamp},
		{"no webhook-id", cbSecret, without("webhook-id"), body, producer.ErrCallbackHeaders},
		{"no webhook-timestamp", cbSecret, without("webhook-timestamp"), body, producer.ErrCallbackHeaders},
		{"no webhook-signature", cbSecret, without("webhook-signature"), body, producer.ErrCallbackHeaders},
		{"timestamp not a number", cbSecret, with("webhook-timestamp", "yesterday"), body, producer.ErrCallbackHeaders},
		{"no secret", "", header, body, producer.ErrCallbackSecret},
		{"malformed secret", "whsec_???", header, body, producer.ErrCallbackSecret},
		{"signed, but not a job", cbSecret, resign(notJob, time.Now()), notJob, producer.ErrCallbackBody},
	} {
		job, err := producer.VerifyCallback(tc.secret, tc.header, tc.body)
		if job != nil || !errors.Is(err, tc.want) {
			t.Errorf("%s: job %v, err %v, want %v", tc.name, job, err, tc.want)
		}
	}

	sentinels := []error{producer.ErrCallbackSecret, producer.ErrCallbackHeaders, producer.ErrCallbackTimestamp,
		producer.ErrCallbackSignature, producer.ErrCallbackBody}
	for i, a := range sentinels {
		for _, b := range sentinels[i+1:] {
			if errors.Is(a, b) || errors.Is(b, a) || a.Error() == b.Error() {
				t.Errorf("%v and %v are not distinct", a, b)
			}
		}
	}
}

// FuzzVerifyCallback: headers and bodies from anyone never panic and never verify.
func FuzzVerifyCallback(f *testing.F) {
	wh, err := standardwebhooks.NewWebhook(cbSecret)
	if err != nil {
		f.Fatal(err)
	}
	now := time.Now()
	body := []byte(`{"id":"01J0000000000000000000000","status":"completed"}`)
	sig, _ := wh.Sign("cb_01J0000000000000000000000_completed", now, body)
	ts := strconv.FormatInt(now.Unix(), 10)
	// Signed for this body; the fuzzer's body differs by one byte.
	f.Add("cb_01J0000000000000000000000_completed", ts, sig, append([]byte(`{"id":"01J0000000000000000000001"`), body[len(`{"id":"01J0000000000000000000000"`):]...))
	f.Add("cb_x_failed", ts, "v1,"+sig[3:]+" v2,abc", []byte(`{}`))
	f.Add("id", "-1", "v1,", []byte(nil))
	f.Add("", "", "", []byte(`null`))
	f.Add("id", "99999999999999999999", "v1,AAAA v1 ,,,", []byte(`{"id":"x"}`))
	f.Add("id", ts, "v1,AAAA", []byte("\xff\xfe"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set("webhook-id", id)
		h.Set("webhook-timestamp", ts)
		h.Set("webhook-signature", sig)
		job, err := producer.VerifyCallback(cbSecret, h, body)
		if err == nil || job != nil {
			t.Fatalf("forged callback verified: id %q ts %q sig %q body %q", id, ts, sig, body)
		}
	})
}
