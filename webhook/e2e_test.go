package webhook_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/webhook"
	"github.com/ikq-dev/ikq/worker"
)

// End-to-end tests of webhooks and completion, over HTTP on loopback:
// producer → Redis → worker → emulator (ImageKit) → webhook receiver → completion →
// callback. The stack is in e2e_helpers_test.go.

var removeBG = []tasks.Extension{{Name: "remove-bg"}}

const bgRedItem = "post-transformation:transformation:bg-red"

func wantExtensions(t *testing.T, job *jobstore.Job, want map[string]string) {
	t.Helper()
	if !maps.Equal(job.Extensions, want) {
		t.Fatalf("job %s (%s): extensions %v, want %v; events %+v", job.ID, job.Status, job.Extensions, want, job.Events)
	}
}

// TestE2ERemoveBGUploadedThenCompleted: a remove-bg job is uploaded with the
// extension pending, then completed by the emulator's webhook to its capability URL.
func TestE2ERemoveBGUploadedThenCompleted(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	// Hold ImageKit's webhook until the uploaded record has been seen.
	release := s.holdEmulatorWebhooks()
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 1), FileName: "remove-bg.png", Extensions: removeBG})

	uploaded, _ := s.waitStatus(job.ID, jobstore.StatusUploaded, jobstore.StatusCompleted)
	if uploaded.Status != jobstore.StatusUploaded {
		t.Fatalf("job went %s while ImageKit's webhook was held; events %+v", uploaded.Status, uploaded.Events)
	}
	wantExtensions(t, uploaded, map[string]string{"remove-bg": completion.Pending})
	res := resultFieldsOf(t, uploaded)

	release()
	done, _ := s.waitStatus(job.ID, jobstore.StatusCompleted)
	wantExtensions(t, done, map[string]string{"remove-bg": completion.Success})
	if up, c := stateIndex(done, jobstore.StatusUploaded), stateIndex(done, jobstore.StatusCompleted); up < 0 || up > c {
		t.Fatalf("events %+v: want uploaded before completed", done.Events)
	}
	if done.FileID != res.FileID {
		t.Fatalf("fileId %q, want the upload's %q", done.FileID, res.FileID)
	}
	// The webhook that completed it came from the emulator to the job's capability URL.
	got := s.waitHooks(1, fromEmulator)
	if len(got) != 1 || got[0].Path != "/webhooks/imagekit/"+job.ID || got[0].answerStatus() != "applied" {
		t.Fatalf("webhooks from the emulator %+v, want one to /webhooks/imagekit/%s answered applied", got, job.ID)
	}
}

// TestE2ERemoveBGFailedStillCompletes: an extension that fails is recorded failed and
// the job still completes.
func TestE2ERemoveBGFailedStillCompletes(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t, withE2EEmulator(func(c *emulator.Config) { c.FailExtensions = []string{"remove-bg"} }))
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 2), FileName: "fails.png", Extensions: removeBG})
	done, _ := s.waitStatus(job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if done.Status != jobstore.StatusCompleted {
		t.Fatalf("job %s, want completed; events %+v", done.Status, done.Events)
	}
	wantExtensions(t, done, map[string]string{"remove-bg": completion.Failed})
	if done.Error != nil {
		t.Fatalf("a failed extension is no job error: error %+v", done.Error)
	}
}

// TestE2EAutoTaggingSynchronous: auto-tagging that finishes within the upload
// completes the job at once, never uploaded.
func TestE2EAutoTaggingSynchronous(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	minConf, maxTags := 10.0, 5
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 3), FileName: "tagged.png",
		Extensions: []tasks.Extension{{Name: "google-auto-tagging", MinConfidence: &minConf, MaxTags: &maxTags}}})
	done, _ := s.waitStatus(job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if done.Status != jobstore.StatusCompleted {
		t.Fatalf("job %s, want completed; events %+v", done.Status, done.Events)
	}
	want := []jobstore.Status{jobstore.StatusQueued, jobstore.StatusActive, jobstore.StatusCompleted}
	if got := states(done); !slices.Equal(got, want) {
		t.Fatalf("event states %v, want %v (no uploaded); events %+v", got, want, done.Events)
	}
	wantExtensions(t, done, map[string]string{"google-auto-tagging": completion.Success})
	res := resultFieldsOf(t, done)
	if len(res.AITags) == 0 {
		t.Fatalf("result %s: want AITags", done.Result)
	}
	for _, tag := range res.AITags {
		if tag.Source != "google-auto-tagging" || tag.Name == "" {
			t.Fatalf("AITag %+v: want a named tag from google-auto-tagging", tag)
		}
	}
	if got := s.hooks.matching(func(hookRequest) bool { return true }); len(got) != 0 {
		t.Fatalf("no webhook expected for a synchronous extension, the API got %+v", got)
	}
}

// TestE2EDuplicateWebhookChangesNothing: a per-job webhook delivered again is
// answered duplicate and leaves the record byte for byte as it was.
func TestE2EDuplicateWebhookChangesNothing(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 4), FileName: "twice.png", Extensions: removeBG})
	done, before := s.waitStatus(job.ID, jobstore.StatusCompleted)
	wantExtensions(t, done, map[string]string{"remove-bg": completion.Success})

	body := extensionBody(t, "remove-bg", "SUCCESS", done.FileID)
	for i := range 2 {
		code, answer := s.post(s.capabilityURL(job.ID), body, nil)
		wantAnswer(t, fmt.Sprintf("delivery %d again", i+1), code, answer, http.StatusOK, "duplicate")
	}
	// ImageKit's own delivery, exactly as it came, once more.
	orig := s.waitHooks(1, fromEmulator)
	if len(orig) != 1 {
		t.Fatalf("webhooks from the emulator: %+v, want 1", orig)
	}
	code, answer := s.post(s.APIURL+orig[0].Path+"?"+orig[0].Query, orig[0].Body, orig[0].Header)
	wantAnswer(t, "the emulator's delivery again", code, answer, http.StatusOK, "duplicate")

	_, after := s.record(job.ID)
	if !bytes.Equal(before, after) {
		t.Fatalf("record changed by a duplicate:\nbefore %s\nafter  %s", before, after)
	}
}

// TestE2EWebhookBeforeUploadRecorded: a webhook that arrives while the job is still
// active is kept, and completes the job when the upload is recorded; ImageKit's own
// delivery afterwards is a duplicate.
func TestE2EWebhookBeforeUploadRecorded(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	src := newBlockingSource(t, 5)
	job := s.Enqueue(tasks.Upload{File: src.URL, FileName: "early.png", Extensions: removeBG})
	src.WaitStarted(t) // the worker is streaming the source: the job is active

	body, err := json.Marshal(map[string]any{"service": "remove-bg", "status": "SUCCESS", "fileId": "file_not_known_yet"})
	if err != nil {
		t.Fatal(err)
	}
	code, answer := s.post(s.capabilityURL(job.ID), body, nil)
	wantAnswer(t, "webhook before the upload", code, answer, http.StatusOK, "applied")
	early, _ := s.record(job.ID)
	if early.Status != jobstore.StatusActive {
		t.Fatalf("job %s after the early webhook, want still active; events %+v", early.Status, early.Events)
	}
	wantExtensions(t, early, map[string]string{"remove-bg": completion.Success})

	src.Release()
	done, _ := s.waitStatus(job.ID, jobstore.StatusCompleted, jobstore.StatusUploaded, jobstore.StatusFailed)
	if done.Status != jobstore.StatusCompleted {
		t.Fatalf("job %s, want completed by the webhook kept on it; events %+v", done.Status, done.Events)
	}
	wantExtensions(t, done, map[string]string{"remove-bg": completion.Success})
	if i := stateIndex(done, jobstore.StatusUploaded); i >= 0 {
		t.Fatalf("events %+v: nothing was pending when the upload was recorded, want no uploaded", done.Events)
	}

	// ImageKit's own webhook comes later and changes nothing.
	fromEmu := s.waitHooks(1, fromEmulator)
	if h := fromEmu[0]; h.Path != "/webhooks/imagekit/"+job.ID || h.Code != http.StatusOK || h.answerStatus() != "duplicate" {
		t.Fatalf("the emulator's webhook %s answered %d %s, want 200 duplicate", h.Path, h.Code, h.Answer)
	}
	final, _ := s.record(job.ID)
	wantExtensions(t, final, map[string]string{"remove-bg": completion.Success})
}

// TestE2EAccountEventParkedBeforeUpload: a signed account event for a file no job has
// recorded yet is parked, and applied when a job records that file. ImageKit assigns
// fileIds, so the upload is recorded here as the worker records it, with the
// completion tracker; the event goes through the signed HTTP route.
func TestE2EAccountEventParkedBeforeUpload(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	runAt := time.Now().Add(time.Hour) // the worker leaves it alone
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 6), FileName: "parked.png", RunAt: &runAt,
		Transformation: &tasks.Transformation{Post: []tasks.PostTransform{{Type: "transformation", Value: "bg-red"}}}})
	fileID := "file_parked_" + job.ID

	id := "evt_parked_" + job.ID
	body := postTransformEvent(t, webhook.TypePostTransformSuccess, id, fileID, "bg-red")
	code, answer := s.post(s.APIURL+webhook.AccountPath, body, signBoth(e2eAccountSecret, id, time.Now(), body))
	wantAnswer(t, "event for a file not recorded yet", code, answer, http.StatusOK, "applied")
	code, answer = s.post(s.APIURL+webhook.AccountPath, body, signBoth(e2eAccountSecret, id, time.Now(), body))
	wantAnswer(t, "the same event again", code, answer, http.StatusOK, "duplicate")
	if queued, _ := s.record(job.ID); queued.Status != jobstore.StatusQueued || len(queued.Extensions) != 0 {
		t.Fatalf("job %s %v: the event names another file, want it untouched", queued.Status, queued.Extensions)
	}

	recorded, err := s.tracker.RecordUpload(t.Context(), job.ID, completion.Upload{
		Result: json.RawMessage(fmt.Sprintf(`{"fileId":%q,"filePath":"/parked.png"}`, fileID)),
		FileID: fileID, FilePath: "/parked.png",
		Items: map[string]string{bgRedItem: completion.Pending},
	})
	if err != nil {
		t.Fatal(err)
	}
	if recorded.Status != jobstore.StatusCompleted {
		t.Fatalf("RecordUpload: job %s, want completed by the parked event; events %+v", recorded.Status, recorded.Events)
	}
	done, _ := s.record(job.ID)
	wantExtensions(t, done, map[string]string{bgRedItem: completion.Success})
	if i := stateIndex(done, jobstore.StatusUploaded); i >= 0 || done.Status != jobstore.StatusCompleted {
		t.Fatalf("job %s, events %+v: want completed without waiting", done.Status, done.Events)
	}
	if n, err := s.RDB.Exists(t.Context(), jobstore.SpreadKey("parked", fileID)).Result(); err != nil || n != 0 {
		t.Fatalf("parked statuses of %s still there (%d, %v) after being applied", fileID, n, err)
	}
}

// TestE2EForgedWebhooksRefused: wrong, missing and other jobs' tokens, forged, stale
// and tampered account events are refused with 401 and change nothing; a good one
// with the same event id is then applied.
func TestE2EForgedWebhooksRefused(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t, withE2EEmulator(func(c *emulator.Config) { c.ExtensionDelay = 30 * time.Second }))
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 7), FileName: "guarded.png", Extensions: removeBG,
		Transformation: &tasks.Transformation{Post: []tasks.PostTransform{{Type: "transformation", Value: "bg-red"}}}})
	uploaded, before := s.waitStatus(job.ID, jobstore.StatusUploaded, jobstore.StatusCompleted, jobstore.StatusFailed)
	if uploaded.Status != jobstore.StatusUploaded {
		t.Fatalf("job %s, want uploaded; events %+v", uploaded.Status, uploaded.Events)
	}
	wantExtensions(t, uploaded, map[string]string{"remove-bg": completion.Pending, bgRedItem: completion.Pending})
	fileID := uploaded.FileID

	unchanged := func(what string) {
		t.Helper()
		after, raw := s.record(job.ID)
		if after.Status != jobstore.StatusUploaded || !bytes.Equal(before, raw) {
			t.Fatalf("%s changed the record:\nbefore %s\nafter  %s", what, before, raw)
		}
	}

	ext := extensionBody(t, "remove-bg", "SUCCESS", fileID)
	token := s.Capability.Token(job.ID)
	flipped := []byte(token) // one hex digit changed
	if flipped[10] == '0' {
		flipped[10] = '1'
	} else {
		flipped[10] = '0'
	}
	jobURL := s.APIURL + "/webhooks/imagekit/" + url.PathEscape(job.ID)
	for _, c := range []struct{ name, target string }{
		{"no token", jobURL},
		{"empty token", jobURL + "?token="},
		{"wrong token", jobURL + "?token=" + strings.Repeat("ab", 32)},
		{"token off by one digit", jobURL + "?token=" + string(flipped)},
		{"malformed token", jobURL + "?token=not-hex"},
		{"another job's token", jobURL + "?token=" + s.Capability.Token(job.ID+"X")},
		{"token in a header instead", jobURL},
	} {
		h := http.Header{}
		if c.name == "token in a header instead" {
			h.Set("Authorization", "Bearer "+token)
		}
		code, answer := s.post(c.target, ext, h)
		wantAnswer(t, c.name, code, answer, http.StatusUnauthorized, "")
		unchanged(c.name)
	}

	const id = "evt_forged_then_good"
	event := postTransformEvent(t, webhook.TypePostTransformSuccess, id, fileID, "bg-red")
	now := time.Now()
	old := now.Add(-6 * time.Minute)
	tampered := bytes.Replace(event, []byte(`"bg-red"`), []byte(`"bg-rex"`), 1)
	for _, c := range []struct {
		name string
		body []byte
		h    http.Header
	}{
		{"no signature", event, http.Header{}},
		{"forged: another secret, both schemes", event, signBoth("not_the_dashboard_secret", id, now, event)},
		{"forged: Standard Webhooks only", event, standardHeaders("not_the_dashboard_secret", id, now, event)},
		{"forged: legacy only", event, http.Header{"X-Ik-Signature": {legacyHeader("not_the_dashboard_secret", now, event)}}},
		{"good standard, forged legacy", event, func() http.Header {
			h := standardHeaders(e2eAccountSecret, id, now, event)
			h.Set("x-ik-signature", legacyHeader("not_the_dashboard_secret", now, event))
			return h
		}()},
		{"signed 6 minutes ago, both schemes", event, signBoth(e2eAccountSecret, id, old, event)},
		{"signed 6 minutes ago, Standard Webhooks", event, standardHeaders(e2eAccountSecret, id, old, event)},
		{"signed 6 minutes ago, legacy", event, http.Header{"X-Ik-Signature": {legacyHeader(e2eAccountSecret, old, event)}}},
		{"signed 6 minutes ahead", event, signBoth(e2eAccountSecret, id, now.Add(6*time.Minute), event)},
		{"body changed after signing", tampered, signBoth(e2eAccountSecret, id, now, event)},
		{"signature for another event id", event, func() http.Header {
			h := standardHeaders(e2eAccountSecret, "evt_other", now, event)
			h.Set("webhook-id", id)
			return h
		}()},
	} {
		code, answer := s.post(s.APIURL+webhook.AccountPath, c.body, c.h)
		wantAnswer(t, c.name, code, answer, http.StatusUnauthorized, "")
		unchanged(c.name)
	}

	// The refusals did not mark the event id seen: the genuine event with that id is
	// applied, to the transformation alone.
	code, answer := s.post(s.APIURL+webhook.AccountPath, event, signBoth(e2eAccountSecret, id, time.Now(), event))
	wantAnswer(t, "the genuine event", code, answer, http.StatusOK, "applied")
	after, _ := s.record(job.ID)
	if after.Status != jobstore.StatusUploaded {
		t.Fatalf("job %s, want still uploaded (remove-bg pending); events %+v", after.Status, after.Events)
	}
	wantExtensions(t, after, map[string]string{"remove-bg": completion.Pending, bgRedItem: completion.Success})
}

// TestE2ECallbackRetriedUntilDelivered: a callback receiver that answers 503 twice
// gets the callback delivered on the third attempt, exactly once with a 2xx, every
// attempt with the same webhook-id, and producer.VerifyCallback accepts it.
func TestE2ECallbackRetriedUntilDelivered(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	app := newReceiver(t, func(n int) int {
		if n <= 2 {
			return http.StatusServiceUnavailable
		}
		return http.StatusOK
	})
	// remove-bg: the job is completed by the webhook, in the API process, whose
	// tracker queues the callback the worker delivers.
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 8), FileName: "called-back.png", Extensions: removeBG,
		CallbackURL: app.URL})
	done, _ := s.waitJob(job.ID, "callback delivered", func(j *jobstore.Job) bool {
		return j.Callback != nil && (j.Callback.Status == "delivered" || j.Callback.Status == "failed")
	})
	if done.Status != jobstore.StatusCompleted || done.Callback.Status != "delivered" {
		t.Fatalf("job %s callback %+v, want completed and delivered", done.Status, done.Callback)
	}
	if done.Callback.Attempts != 3 {
		t.Fatalf("callback attempts %d, want 3 (two 503s, then 200): %+v", done.Callback.Attempts, done.Callback)
	}
	if done.Callback.LastError != "" || done.Callback.DeliveredAt == nil {
		t.Fatalf("callback %+v: want no lastError and a deliveredAt once delivered", done.Callback)
	}

	reqs := app.requests()
	var ok []received
	for _, r := range reqs {
		if r.Code/100 == 2 {
			ok = append(ok, r)
		}
		if got, want := r.Header.Get("webhook-id"), "cb_"+job.ID+"_completed"; got != want {
			t.Fatalf("webhook-id %q, want %q on every attempt", got, want)
		}
		if ua := r.Header.Get("User-Agent"); ua != "ikq-callback" {
			t.Fatalf("callback User-Agent %q, want ikq-callback", ua)
		}
	}
	if len(reqs) != 3 || len(ok) != 1 {
		t.Fatalf("receiver got %d requests, %d answered 2xx; want 3 and 1", len(reqs), len(ok))
	}
	got, err := producer.VerifyCallback(s.callbackSecret, ok[0].Header, ok[0].Body)
	if err != nil {
		t.Fatalf("VerifyCallback of the delivered callback: %v", err)
	}
	if got.ID != job.ID || got.Status != jobstore.StatusCompleted {
		t.Fatalf("callback carries job %s %s, want %s completed", got.ID, got.Status, job.ID)
	}
	if got.Extensions["remove-bg"] != completion.Success {
		t.Fatalf("callback carries extensions %v, want remove-bg success", got.Extensions)
	}
	// It is the signature that is checked: the same body changed, or another secret, fails.
	changed := bytes.Replace(ok[0].Body, []byte(`"completed"`), []byte(`"failed"`), 1)
	if _, err := producer.VerifyCallback(s.callbackSecret, ok[0].Header, changed); !errors.Is(err, producer.ErrCallbackSignature) {
		t.Fatalf("VerifyCallback of a changed body: %v, want ErrCallbackSignature", err)
	}
	other := "whsec_" + strings.Repeat("A", 43) + "="
	if _, err := producer.VerifyCallback(other, ok[0].Header, ok[0].Body); !errors.Is(err, producer.ErrCallbackSignature) {
		t.Fatalf("VerifyCallback with another secret: %v, want ErrCallbackSignature", err)
	}
}

// TestE2ECallbackOnFailureAndCancel: a job that fails and a job canceled while
// queued each send a signed callback with their status.
func TestE2ECallbackOnFailureAndCancel(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	// A source that answers 404: a permanent failure.
	notFound := newReceiver(t, func(int) int { return http.StatusNotFound }).URL + "/missing.png"

	failing := newReceiver(t, nil)
	failed := s.Enqueue(tasks.Upload{File: notFound, FileName: "missing.png", CallbackURL: failing.URL})

	canceling := newReceiver(t, nil)
	runAt := time.Now().Add(time.Hour)
	canceled := s.Enqueue(tasks.Upload{File: pngSource(t, 10), FileName: "canceled.png", RunAt: &runAt,
		CallbackURL: canceling.URL})
	code, answer := s.post(s.APIURL+"/v1/uploads/"+canceled.ID+"/cancel", nil, nil)
	if code != http.StatusOK {
		t.Fatalf("cancel: %d %s", code, answer)
	}

	for _, c := range []struct {
		job  *jobstore.Job
		app  *receiver
		want jobstore.Status
	}{
		{failed, failing, jobstore.StatusFailed},
		{canceled, canceling, jobstore.StatusCanceled},
	} {
		done, _ := s.waitJob(c.job.ID, "callback delivered", func(j *jobstore.Job) bool {
			return j.Callback != nil && (j.Callback.Status == "delivered" || j.Callback.Status == "failed")
		})
		if done.Status != c.want || done.Callback.Status != "delivered" || done.Callback.Attempts != 1 {
			t.Fatalf("job %s callback %+v, want %s and delivered at the first attempt", done.Status, done.Callback, c.want)
		}
		reqs := c.app.requests()
		if len(reqs) != 1 {
			t.Fatalf("%s job: receiver got %d requests, want 1", c.want, len(reqs))
		}
		if got, want := reqs[0].Header.Get("webhook-id"), "cb_"+c.job.ID+"_"+string(c.want); got != want {
			t.Fatalf("webhook-id %q, want %q", got, want)
		}
		got, err := producer.VerifyCallback(s.callbackSecret, reqs[0].Header, reqs[0].Body)
		if err != nil {
			t.Fatalf("VerifyCallback of the %s job's callback: %v", c.want, err)
		}
		if got.ID != c.job.ID || got.Status != c.want {
			t.Fatalf("callback carries job %s %s, want %s %s", got.ID, got.Status, c.job.ID, c.want)
		}
		if c.want == jobstore.StatusFailed && (got.Error == nil || got.Error.Retryable) {
			t.Fatalf("failed job's callback carries error %+v, want a permanent error", got.Error)
		}
	}
}

// TestE2ERelayToAppWebhook: a job with its own webhookUrl still gives ImageKit ikq's
// capability URL; the app gets the extension's body relayed by ikq, once.
func TestE2ERelayToAppWebhook(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	app := newReceiver(t, nil)
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 11), FileName: "relayed.png", Extensions: removeBG,
		WebhookURL: app.URL})
	done, _ := s.waitStatus(job.ID, jobstore.StatusCompleted)
	wantExtensions(t, done, map[string]string{"remove-bg": completion.Success})

	ikqtest.Eventually(t, func() string { return fmt.Sprintf("the app got %d relays", len(app.requests())) },
		func() bool { return len(app.requests()) > 0 })
	// Nothing more is on its way: the emulator delivered its one webhook and no relay
	// task is waiting or running.
	ikqtest.Eventually(t, func() string { return fmt.Sprintf("emulator stats %+v, queue busy", s.Emu.Stats().Webhooks) },
		func() bool { return s.Emu.Stats().Webhooks.Delivered == 1 && s.QueueIdle() })

	fromEmu := s.waitHooks(1, fromEmulator)
	if len(fromEmu) != 1 {
		t.Fatalf("webhooks from the emulator to the API: %+v, want 1", fromEmu)
	}
	h := fromEmu[0]
	if h.Path != "/webhooks/imagekit/"+job.ID || !s.Capability.Valid(job.ID, mustQuery(t, h.Query).Get("token")) {
		t.Fatalf("the emulator posted to %s?%s, want the job's capability URL", h.Path, h.Query)
	}
	reqs := app.requests()
	if len(reqs) != 1 {
		t.Fatalf("the app got %d requests, want the one relay", len(reqs))
	}
	r := reqs[0]
	if ua := r.Header.Get("User-Agent"); ua != userAgentRelay {
		t.Fatalf("the app got a request with User-Agent %q, want %q (nothing straight from ImageKit)", ua, userAgentRelay)
	}
	ev, err := webhook.ParseExtensionEvent(r.Body)
	if err != nil || ev.Service != "remove-bg" || ev.Status != completion.Success || ev.FileID != done.FileID {
		t.Fatalf("relayed body %s parses to %+v, %v; want remove-bg success for %s", r.Body, ev, err, done.FileID)
	}
	if !bytes.Equal(r.Body, h.Body) {
		t.Fatalf("relayed body differs from ImageKit's:\nrelayed %s\nsent    %s", r.Body, h.Body)
	}
}

func mustQuery(t *testing.T, q string) url.Values {
	t.Helper()
	v, err := url.ParseQuery(q)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestE2EPostTransformationByAccountEvent: a post-transformation keeps the job
// uploaded until the emulator's signed upload.post-transform.success account event
// arrives; that event delivered again changes nothing.
func TestE2EPostTransformationByAccountEvent(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t)
	release := s.holdEmulatorWebhooks()
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 12), FileName: "transformed.png",
		Transformation: &tasks.Transformation{Post: []tasks.PostTransform{{Type: "transformation", Value: "bg-red"}}}})

	uploaded, _ := s.waitStatus(job.ID, jobstore.StatusUploaded, jobstore.StatusCompleted)
	if uploaded.Status != jobstore.StatusUploaded {
		t.Fatalf("job went %s while the account event was held; events %+v", uploaded.Status, uploaded.Events)
	}
	wantExtensions(t, uploaded, map[string]string{bgRedItem: completion.Pending})

	release()
	done, before := s.waitStatus(job.ID, jobstore.StatusCompleted)
	wantExtensions(t, done, map[string]string{bgRedItem: completion.Success})

	events := s.waitHooks(1, fromEmulator)
	if len(events) != 1 {
		t.Fatalf("requests from the emulator: %+v, want the one account event", events)
	}
	ev := events[0]
	if ev.Path != webhook.AccountPath || ev.Header.Get("webhook-signature") == "" || ev.Header.Get("x-ik-signature") == "" ||
		ev.answerStatus() != "applied" {
		t.Fatalf("account event to %s, headers %v, answered %d %s: want signed both ways to %s, applied",
			ev.Path, ev.Header, ev.Code, ev.Answer, webhook.AccountPath)
	}

	// Delivered again as it was (same id): duplicate. The same news under a new id:
	// duplicate too, as it changes nothing.
	code, answer := s.post(s.APIURL+ev.Path, ev.Body, ev.Header)
	wantAnswer(t, "the emulator's event again", code, answer, http.StatusOK, "duplicate")
	id := "evt_again_" + job.ID
	body := postTransformEvent(t, webhook.TypePostTransformSuccess, id, done.FileID, "bg-red")
	code, answer = s.post(s.APIURL+webhook.AccountPath, body, signBoth(e2eAccountSecret, id, time.Now(), body))
	wantAnswer(t, "the same status under a new event id", code, answer, http.StatusOK, "duplicate")
	if _, after := s.record(job.ID); !bytes.Equal(before, after) {
		t.Fatalf("record changed by a duplicate event:\nbefore %s\nafter  %s", before, after)
	}
}

// TestE2EDeadlineMarksUnknown: an extension still pending at the completion deadline
// becomes unknown and the job completes.
func TestE2EDeadlineMarksUnknown(t *testing.T) {
	t.Parallel()
	s := newE2EStack(t,
		withE2EEmulator(func(c *emulator.Config) { c.ExtensionDelay = time.Minute }),
		withE2EWorker(func(c *worker.Config) { c.CompletionDeadline = 2 * time.Second }))
	job := s.Enqueue(tasks.Upload{File: pngSource(t, 13), FileName: "late.png", Extensions: removeBG})
	done, _ := s.waitStatus(job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if done.Status != jobstore.StatusCompleted {
		t.Fatalf("job %s, want completed at the deadline; events %+v", done.Status, done.Events)
	}
	wantExtensions(t, done, map[string]string{"remove-bg": completion.Unknown})
	if stateIndex(done, jobstore.StatusUploaded) < 0 {
		t.Fatalf("events %+v: want uploaded before the deadline", done.Events)
	}
	last := done.Events[len(done.Events)-1]
	if last.State != jobstore.StatusCompleted || !strings.Contains(last.Message, "remove-bg") {
		t.Fatalf("last event %+v: want completed, naming remove-bg as given up on", last)
	}
}
