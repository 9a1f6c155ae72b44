package callback

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/tasks"
)

func callbackTask(t *testing.T, jobID string, opts ...asynq.Option) *asynq.Task {
	t.Helper()
	task, err := tasks.NewCallbackTask(jobID, tasks.EventCompleted, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

func TestDeliveredOnFirstTry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t)
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL + "/hooks/ikq?token=app-s3cret"})
	before := e.get(t, job.ID)
	want, _ := json.Marshal(before) // what GET /v1/uploads/{id} shows

	d := e.deliverer(t, testSecret)
	if err := d.HandleCallback(t.Context(), callbackTask(t, job.ID)); err != nil {
		t.Fatalf("HandleCallback: %v", err)
	}

	got := recv.requests()
	if len(got) != 1 {
		t.Fatalf("receiver got %d requests, want 1", len(got))
	}
	r := got[0]
	if r.method != http.MethodPost || r.uri != "/hooks/ikq?token=app-s3cret" {
		t.Errorf("request = %s %s, want POST to the spec's callbackUrl, token included", r.method, r.uri)
	}
	if string(r.body) != string(want) {
		t.Errorf("body =\n%s\nwant the job record\n%s", r.body, want)
	}
	for name, want := range map[string]string{
		"Content-Type": "application/json",
		"User-Agent":   "ikq-callback",
		"webhook-id":   "cb_" + job.ID + "_completed",
	} {
		if v := r.header.Get(name); v != want {
			t.Errorf("%s = %q, want %q", name, v, want)
		}
	}
	if ts := r.header.Get("webhook-timestamp"); ts == "" || !strings.HasPrefix(r.header.Get("webhook-signature"), "v1,") {
		t.Errorf("webhook-timestamp %q, webhook-signature %q", ts, r.header.Get("webhook-signature"))
	}
	wh, err := standardwebhooks.NewWebhook(testSecret)
	if err != nil {
		t.Fatal(err)
	}
	if err := wh.Verify(r.body, r.header); err != nil {
		t.Errorf("the standard-webhooks library does not verify the callback: %v", err)
	}

	after := e.get(t, job.ID)
	c := after.Callback
	if c == nil || c.Status != StatusDelivered || c.Attempts != 1 || c.DeliveredAt == nil || c.LastError != "" {
		t.Fatalf("callback = %+v, want delivered, 1 attempt, deliveredAt set", c)
	}
	if strings.Contains(c.URL, "app-s3cret") {
		t.Errorf("the record shows the app's token: %q", c.URL)
	}
	if after.Status != jobstore.StatusCompleted {
		t.Errorf("job status = %s, want completed unchanged", after.Status)
	}
}

// runServer runs the handler under a real asynq server that retries after 1 s, and
// returns the handler's results in order.
func runServer(t *testing.T, e *env, h asynq.HandlerFunc) func() []error {
	t.Helper()
	var mu sync.Mutex
	var results []error
	srv := asynq.NewServerFromRedisClient(e.rdb, asynq.Config{
		Concurrency:              1,
		Queues:                   map[string]int{tasks.QueueDefault: 1},
		RetryDelayFunc:           func(int, error, *asynq.Task) time.Duration { return time.Second },
		TaskCheckInterval:        50 * time.Millisecond,
		DelayedTaskCheckInterval: 100 * time.Millisecond,
		LogLevel:                 asynq.FatalLevel,
	})
	mux := asynq.NewServeMux()
	mux.HandleFunc(tasks.TypeCallback, func(ctx context.Context, task *asynq.Task) error {
		err := h(ctx, task)
		mu.Lock()
		results = append(results, err)
		mu.Unlock()
		return err
	})
	if err := srv.Start(mux); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Shutdown)
	return func() []error {
		mu.Lock()
		defer mu.Unlock()
		return append([]error(nil), results...)
	}
}

func enqueue(t *testing.T, e *env, task *asynq.Task) {
	t.Helper()
	if _, err := asynq.NewClientFromRedisClient(e.rdb).EnqueueContext(t.Context(), task); err != nil {
		t.Fatal(err)
	}
}

// waitCallback polls the job until its callback reaches status.
func waitCallback(t *testing.T, e *env, id, status string) *jobstore.Callback {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j := e.get(t, id)
		if j.Callback != nil && j.Callback.Status == status {
			return j.Callback
		}
		if time.Now().After(deadline) {
			t.Fatalf("callback = %+v, still not %s", j.Callback, status)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t, 503, 503, 503)
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL})
	d := e.deliverer(t, testSecret)
	results := runServer(t, e, d.HandleCallback)
	enqueue(t, e, callbackTask(t, job.ID, asynq.MaxRetry(MaxRetry)))

	c := waitCallback(t, e, job.ID, StatusDelivered)
	if c.Attempts != 4 || c.LastError != "" || c.DeliveredAt == nil {
		t.Errorf("callback = %+v, want delivered after 4 attempts", c)
	}
	got := recv.requests()
	var ok, failed int
	for i, r := range got {
		switch r.status {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			failed++
		}
		if id := r.header.Get("webhook-id"); id != MessageID(job.ID, tasks.EventCompleted) {
			t.Errorf("attempt %d: webhook-id %q, want the same on every attempt", i+1, id)
		}
	}
	if ok != 1 || failed != 3 || len(got) != 4 {
		t.Errorf("receiver answered 2xx %d times and 503 %d times of %d, want 1 and 3 of 4", ok, failed, len(got))
	}
	// Each attempt sends the record as it stands: the second shows the first failure.
	var second jobstore.Job
	if err := json.Unmarshal(got[1].body, &second); err != nil {
		t.Fatal(err)
	}
	if c := second.Callback; c == nil || c.Status != StatusRetrying || c.Attempts != 1 || !strings.Contains(c.LastError, "503") {
		t.Errorf("second attempt's record shows callback %+v, want retrying after 1 attempt, 503", c)
	}
	res := results()
	if len(res) != 4 || res[3] != nil {
		t.Fatalf("handler results = %v, want 3 errors then nil", res)
	}
	for _, err := range res[:3] {
		if err == nil || errors.Is(err, asynq.SkipRetry) {
			t.Errorf("failed attempt returned %v, want a retryable error", err)
		}
	}
}

func TestGivesUpAtMaxRetry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t, 503, 503, 503)
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL})
	d := e.deliverer(t, testSecret)
	results := runServer(t, e, d.HandleCallback)
	enqueue(t, e, callbackTask(t, job.ID, asynq.MaxRetry(1)))

	c := waitCallback(t, e, job.ID, StatusFailed)
	if c.Attempts != 2 || !strings.Contains(c.LastError, "503") || c.DeliveredAt != nil {
		t.Errorf("callback = %+v, want failed after 2 attempts with the 503", c)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(results()) < 2 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	res := results()
	if len(res) != 2 || errors.Is(res[0], asynq.SkipRetry) || !errors.Is(res[1], asynq.SkipRetry) {
		t.Fatalf("handler results = %v, want a retryable error, then one wrapping SkipRetry", res)
	}
	if n := len(recv.requests()); n != 2 {
		t.Errorf("receiver got %d requests, want 2", n)
	}
}

func TestOutsideAsynqNeverLastAttempt(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t, 500)
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL})
	err := e.deliverer(t, testSecret).HandleCallback(t.Context(), callbackTask(t, job.ID))
	var de *DeliveryError
	if !errors.As(err, &de) || de.StatusCode != 500 || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want a retryable *DeliveryError with status 500", err)
	}
	if c := e.get(t, job.ID).Callback; c.Status != StatusRetrying || c.Attempts != 1 {
		t.Errorf("callback = %+v, want retrying, 1 attempt", c)
	}
}

func TestNoSecretFailsWithoutSending(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t)
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL})
	err := e.deliverer(t, "").HandleCallback(t.Context(), callbackTask(t, job.ID))
	if !errors.Is(err, ErrNoSecret) || !errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("err = %v, want ErrNoSecret wrapping SkipRetry", err)
	}
	if n := len(recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want none: never unsigned", n)
	}
	c := e.get(t, job.ID).Callback
	if c.Status != StatusFailed || c.LastError != "IKQ_CALLBACK_SECRET is not set" || c.Attempts != 0 {
		t.Errorf("callback = %+v, want failed, IKQ_CALLBACK_SECRET is not set, 0 attempts", c)
	}
}

func TestNothingToDeliver(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t)
	d := e.deliverer(t, testSecret)
	noURL := e.finishedJob(t, tasks.Upload{})
	for name, id := range map[string]string{"job gone": "01JZZZZZZZZZZZZZZZZZZZZZZZ", "no callback URL": noURL.ID} {
		if err := d.HandleCallback(t.Context(), callbackTask(t, id)); err != nil {
			t.Errorf("%s: err = %v, want nil", name, err)
		}
	}
	if n := len(recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}
	if c := e.get(t, noURL.ID).Callback; c != nil {
		t.Errorf("job without callback URL got callback state %+v", c)
	}
}

func TestBadTaskIsPermanent(t *testing.T) {
	t.Parallel()
	d := newEnv(t).deliverer(t, testSecret)
	for name, task := range map[string]*asynq.Task{
		"wrong type":  asynq.NewTask(tasks.TypeUpload, []byte(`{"jobId":"x"}`)),
		"bad payload": asynq.NewTask(tasks.TypeCallback, []byte(`{"jobId":"x","event":"done"}`)),
	} {
		if err := d.HandleCallback(t.Context(), task); !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v, want SkipRetry", name, err)
		}
	}
}

func TestRedirectIsNotFollowed(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t, http.StatusFound)
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL})
	err := e.deliverer(t, testSecret).HandleCallback(t.Context(), callbackTask(t, job.ID))
	if err == nil {
		t.Fatal("a 302 counted as delivered")
	}
	if got := recv.requests(); len(got) != 1 {
		t.Errorf("receiver got %d requests, want 1: the redirect must not be followed", len(got))
	}
	if c := e.get(t, job.ID).Callback; !strings.Contains(c.LastError, "302") {
		t.Errorf("lastError = %q, want the 302", c.LastError)
	}
}

func TestLastErrorIsBoundedAndSecretFree(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	long := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(strings.Repeat("é", 150) + "\x00\n" + strings.Repeat("x", 5000)))
	}))
	t.Cleanup(long.Close)
	// A port nobody listens on: a transport error, whose message must not quote the URL.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/cb?token=app-s3cret"
	_, port, _ := net.SplitHostPort(l.Addr().String())
	closedByName := "http://localhost:" + port + "/cb?token=app-s3cret"
	_ = l.Close()

	d := e.deliverer(t, testSecret)
	for name, target := range map[string]string{"long body": long.URL, "transport error": closed, "transport error, host name": closedByName} {
		job := e.finishedJob(t, tasks.Upload{CallbackURL: target})
		if err := d.HandleCallback(t.Context(), callbackTask(t, job.ID)); err == nil {
			t.Fatalf("%s: delivered", name)
		}
		c := e.get(t, job.ID).Callback
		t.Logf("%s: lastError %q", name, c.LastError)
		if c.LastError == "" || len([]rune(c.LastError)) > len("HTTP 500 Internal Server Error: ")+maxSnippet+1 {
			t.Errorf("%s: lastError has %d characters: %q", name, len([]rune(c.LastError)), c.LastError)
		}
		for _, secret := range []string{"app-s3cret", testSecret, "\x00"} {
			if strings.Contains(c.LastError, secret) || strings.Contains(c.URL, secret) {
				t.Errorf("%s: callback state %+v contains %q", name, c, secret)
			}
		}
		// The address a host name resolved to is the worker's network's business.
		if strings.Contains(c.LastError, "127.0.0.1") || strings.Contains(c.LastError, "::1") {
			t.Errorf("%s: lastError %q names the address connected to", name, c.LastError)
		}
	}
}

func TestNewChecksSecret(t *testing.T) {
	t.Parallel()
	store := jobstore.New(nil, jobstore.Options{})
	for _, tc := range []struct {
		name, secret string
		ok           bool
	}{
		{"unset", "", true},
		{"whsec_ + base64", testSecret, true},
		{"trailing newline", testSecret + "\n", true},
		{"no prefix", strings.TrimPrefix(testSecret, "whsec_"), false},
		{"not base64", "whsec_not*base64*at*all*here*!", false},
		{"key too short", "whsec_c2hvcnRrZXk=", false},
		{"prefix only", "whsec_", false},
	} {
		_, err := New(Config{Store: store, Secret: tc.secret})
		if tc.ok != (err == nil) {
			t.Errorf("%s: err = %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if err == nil {
			continue
		}
		if !errors.Is(err, ErrSecret) || !strings.Contains(err.Error(), "IKQ_CALLBACK_SECRET") {
			t.Errorf("%s: err = %v, want ErrSecret naming IKQ_CALLBACK_SECRET", tc.name, err)
		}
		if body := strings.TrimPrefix(tc.secret, "whsec_"); body != "" && strings.Contains(err.Error(), body) {
			t.Errorf("%s: the error echoes the secret: %v", tc.name, err)
		}
	}
	if _, err := New(Config{}); err == nil {
		t.Error("New without a Store succeeded")
	}
}

func TestCallerClientIsNotChanged(t *testing.T) {
	t.Parallel()
	client := &http.Client{}
	if _, err := New(Config{Store: jobstore.New(nil, jobstore.Options{}), HTTPClient: client}); err != nil {
		t.Fatal(err)
	}
	if client.CheckRedirect != nil {
		t.Error("New changed the caller's http.Client")
	}
}

// A callback to an address the SSRF guard refuses fails for good at once: retrying
// for three days would meet the same refusal.
func TestRefusedAddressFailsAtOnce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	recv := newReceiver(t) // on loopback, which the guard refuses
	guard, err := netguard.New(netguard.Config{})
	if err != nil {
		t.Fatal(err)
	}
	d, err := New(Config{Store: e.store, Secret: testSecret, HTTPClient: guard.Client(30 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	job := e.finishedJob(t, tasks.Upload{CallbackURL: recv.URL + "/hook?token=app-s3cret"})

	// Outside asynq no attempt is the last: only the refusal can make it final.
	err = d.HandleCallback(t.Context(), callbackTask(t, job.ID))
	var de *DeliveryError
	if !errors.Is(err, asynq.SkipRetry) || !errors.As(err, &de) || !de.permanent {
		t.Fatalf("err = %v, want a permanent *DeliveryError wrapping SkipRetry", err)
	}
	c := e.get(t, job.ID).Callback
	if c.Status != StatusFailed || c.Attempts != 1 || c.DeliveredAt != nil {
		t.Errorf("callback = %+v, want failed after 1 attempt", c)
	}
	if !strings.Contains(c.LastError, "refused: 127.0.0.1") || !strings.Contains(c.LastError, "IKQ_FETCH_ALLOW") {
		t.Errorf("lastError = %q, want the refusal and how to allow it", c.LastError)
	}
	if strings.Contains(c.LastError, "app-s3cret") {
		t.Errorf("lastError = %q holds the URL's token", c.LastError)
	}
	if n := len(recv.requests()); n != 0 {
		t.Errorf("receiver got %d requests, want none", n)
	}

	// A relay to it is dropped for good too.
	relayJob := e.finishedJob(t, tasks.Upload{WebhookURL: recv.URL})
	if err := d.HandleRelay(t.Context(), relayTask(t, relayJob.ID, []byte(`{"type":"x"}`))); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("relay err = %v, want one wrapping SkipRetry", err)
	}
}
