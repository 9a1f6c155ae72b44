package callback

import (
	"errors"
	"net/http"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/tasks"
)

func relayTask(t *testing.T, jobID string, body []byte) *asynq.Task {
	t.Helper()
	task, err := tasks.NewRelayTask(jobID, body)
	if err != nil {
		t.Fatal(err)
	}
	return task
}

// webhookBody is an ImageKit extension webhook, its key order as sent. (The task
// payload holds it as compact JSON: tasks.NewRelayTask drops insignificant spaces.)
var webhookBody = []byte(`{"service":"remove-bg","status":"SUCCESS","fileId":"598821f949c0a938d57563bd","error":null,"a":1.50}`)

func TestRelay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := newReceiver(t, 503)
	job := e.finishedJob(t, tasks.Upload{WebhookURL: app.URL + "/imagekit?sig=abc"})
	// Without a secret: relays are not signed, so they need none.
	d := e.deliverer(t, "")

	err := d.HandleRelay(t.Context(), relayTask(t, job.ID, webhookBody))
	if err == nil || errors.Is(err, asynq.SkipRetry) {
		t.Fatalf("a 503 gave %v, want a retryable error", err)
	}
	if err := d.HandleRelay(t.Context(), relayTask(t, job.ID, webhookBody)); err != nil {
		t.Fatalf("HandleRelay: %v", err)
	}
	got := app.requests()
	if len(got) != 2 {
		t.Fatalf("app got %d requests, want 2", len(got))
	}
	r := got[1]
	if r.method != http.MethodPost || r.uri != "/imagekit?sig=abc" || string(r.body) != string(webhookBody) {
		t.Errorf("app got %s %s %s, want POST /imagekit?sig=abc with the body unchanged", r.method, r.uri, r.body)
	}
	if ct, ua := r.header.Get("Content-Type"), r.header.Get("User-Agent"); ct != "application/json" || ua != "ikq-relay" {
		t.Errorf("Content-Type %q, User-Agent %q", ct, ua)
	}
	if r.header.Get("webhook-signature") != "" {
		t.Error("a relay carries a webhook signature: ImageKit's bodies are passed on as they came")
	}
}

func TestRelayNothingToDo(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	app := newReceiver(t)
	d := e.deliverer(t, testSecret)
	noURL := e.finishedJob(t, tasks.Upload{CallbackURL: app.URL}) // a callback, but no webhookUrl
	for name, id := range map[string]string{"no webhookUrl": noURL.ID, "job gone": "01JZZZZZZZZZZZZZZZZZZZZZZZ"} {
		if err := d.HandleRelay(t.Context(), relayTask(t, id, webhookBody)); err != nil {
			t.Errorf("%s: err = %v, want nil", name, err)
		}
	}
	if n := len(app.requests()); n != 0 {
		t.Errorf("app got %d requests, want none", n)
	}
	if err := d.HandleRelay(t.Context(), asynq.NewTask(tasks.TypeRelay, []byte(`{}`))); !errors.Is(err, asynq.SkipRetry) {
		t.Errorf("bad payload: err = %v, want SkipRetry", err)
	}
}
