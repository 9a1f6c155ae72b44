package webhook_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/webhook"
)

const removeBGSuccess = `{"service":"remove-bg","status":"SUCCESS","fileObject":{"fileId":"file_1","name":"a.jpg"}}`

func TestExtensionRoute(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		answer     int
		code       int
		status     string
		metric     string
		wantRelay  bool
		body       string
		wantCall   call
		relayError error
	}{
		{name: "applied", answer: answerChanged, code: 200, status: "applied", metric: metrics.WebhookApplied, wantRelay: true,
			body: removeBGSuccess, wantCall: call{"ApplyItem", "job_1", "remove-bg", completion.Success}},
		{name: "failure applied", answer: answerChanged, code: 200, status: "applied", metric: metrics.WebhookApplied, wantRelay: true,
			body: `{"service":"aws-auto-tagging","status":"FAILURE","fileId":"file_1","error":{}}`, wantCall: call{"ApplyItem", "job_1", "aws-auto-tagging", completion.Failed}},
		{name: "duplicate", answer: answerDuplicate, code: 200, status: "duplicate", metric: metrics.WebhookDuplicate, wantRelay: true,
			body: removeBGSuccess, wantCall: call{"ApplyItem", "job_1", "remove-bg", completion.Success}},
		{name: "relay fails, ImageKit still gets 200", answer: answerChanged, code: 200, status: "applied", metric: metrics.WebhookApplied, wantRelay: true,
			body: removeBGSuccess, wantCall: call{"ApplyItem", "job_1", "remove-bg", completion.Success}, relayError: errors.New("queue down")},
		{name: "unknown job", answer: answerNotFound, code: 200, status: "ignored", metric: metrics.WebhookInvalid,
			body: removeBGSuccess, wantCall: call{"ApplyItem", "job_1", "remove-bg", completion.Success}},
		{name: "unknown job (completion)", answer: answerUnknownJob, code: 200, status: "ignored", metric: metrics.WebhookInvalid,
			body: removeBGSuccess, wantCall: call{"ApplyItem", "job_1", "remove-bg", completion.Success}},
		{name: "store error", answer: answerError, code: 503,
			body: removeBGSuccess, wantCall: call{"ApplyItem", "job_1", "remove-bg", completion.Success}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.merger.setAnswer(c.answer)
			f.relayErr = c.relayError
			w := f.post(f.jobPath("job_1"), []byte(c.body), nil)
			wantStatus(t, w, c.code, c.status)
			if calls := f.merger.Calls(); !reflect.DeepEqual(calls, []call{c.wantCall}) {
				t.Fatalf("Merger calls %+v, want %+v", calls, c.wantCall)
			}
			var want []relayed
			if c.wantRelay {
				want = []relayed{{"job_1", []byte(c.body)}}
			}
			if got := f.Relayed(); !reflect.DeepEqual(got, want) {
				t.Fatalf("relayed %q, want %q", got, want)
			}
			if c.metric != "" {
				if n := f.count(t, metrics.WebhookExtension, c.metric); n != 1 {
					t.Fatalf("%s counted %v times", c.metric, n)
				}
			}
		})
	}
}

func TestExtensionRouteWithoutRelay(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *webhook.TestConfig) { c.Relay = nil })
	wantStatus(t, f.post(f.jobPath("job_1"), []byte(removeBGSuccess), nil), 200, "applied")
}

func TestExtensionRouteRefusesBadTokens(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	other := f.capability.Token("job_2")
	foreign := mustCapability(t, capabilitySecret+"-elsewhere").Token("job_1")
	for _, target := range []string{
		"/webhooks/imagekit/job_1",
		"/webhooks/imagekit/job_1?token=",
		"/webhooks/imagekit/job_1?token=" + other,
		"/webhooks/imagekit/job_1?token=" + foreign,
		"/webhooks/imagekit/job_1?token=" + f.capability.Token("job_1")[:40],
		"/webhooks/imagekit/job_1?tok=" + f.capability.Token("job_1"),
		"/webhooks/imagekit/job_2?token=" + f.capability.Token("job_1"),
	} {
		wantStatus(t, f.post(target, []byte(removeBGSuccess), nil), 401, "")
	}
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
	if relayed := f.Relayed(); len(relayed) != 0 {
		t.Fatalf("relayed: %q", relayed)
	}
	if n := f.count(t, metrics.WebhookExtension, metrics.WebhookRejected); n != 7 {
		t.Fatalf("rejected counted %v times, want 7", n)
	}
}

// bodyReader fails the test if the handler reads the body of a request it refuses.
type bodyReader struct{ t *testing.T }

func (b bodyReader) Read([]byte) (int, error) {
	b.t.Error("the body of a request with a bad token was read")
	return 0, errors.New("read")
}

func TestExtensionRouteChecksTokenBeforeBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	r := httptest.NewRequest(http.MethodPost, "/webhooks/imagekit/job_1?token=bad", bodyReader{t})
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	wantStatus(t, w, 401, "")
}

func TestExtensionRouteRefusesInvalidBodies(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *webhook.TestConfig) { c.MaxBody = 4 << 10 })
	huge := `{"service":"remove-bg","status":"SUCCESS","fileObject":{"pad":"` + strings.Repeat("x", 5<<10) + `"}}`
	cases := []struct {
		name string
		body string
		code int
	}{
		{"not JSON", "service=remove-bg&status=SUCCESS", 400},
		{"empty", "", 400},
		{"array", `[` + removeBGSuccess + `]`, 400},
		{"missing service", `{"status":"SUCCESS","fileId":"f"}`, 400},
		{"status DONE", `{"service":"remove-bg","status":"DONE"}`, 400},
		{"missing status", `{"service":"remove-bg"}`, 400},
		{"huge body", huge, 413},
	}
	for _, c := range cases {
		w := f.post(f.jobPath("job_1"), []byte(c.body), nil)
		if w.Code != c.code {
			t.Errorf("%s: answered %d, want %d; %s", c.name, w.Code, c.code, w.Body)
			continue
		}
		wantStatus(t, w, c.code, "")
	}
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
	if n := f.count(t, metrics.WebhookExtension, metrics.WebhookInvalid); n != float64(len(cases)) {
		t.Fatalf("invalid counted %v times, want %d", n, len(cases))
	}
}

func TestRoutesAnswerProblemsElsewhere(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cases := []struct {
		method, target string
		code           int
	}{
		{"GET", "/webhooks/imagekit", 405},
		{"PUT", "/webhooks/imagekit", 405},
		{"GET", f.jobPath("job_1"), 405},
		{"DELETE", f.jobPath("job_1"), 405},
		{"POST", "/webhooks/other", 404},
		{"POST", "/webhooks/imagekit/job_1/more?token=x", 404},
		{"POST", "/", 404},
		{"POST", "/webhooks/imagekit/", 404},
		{"POST", "/webhooks//imagekit", 404},
		{"POST", "/webhooks/imagekit/./job_1?token=x", 404},
		{"POST", "/webhooks/imagekit/x/../job_1?token=x", 404},
	}
	for _, c := range cases {
		r := httptest.NewRequest(c.method, c.target, strings.NewReader(removeBGSuccess))
		w := httptest.NewRecorder()
		f.h.ServeHTTP(w, r)
		if w.Code != c.code {
			t.Errorf("%s %s: %d, want %d", c.method, c.target, w.Code, c.code)
			continue
		}
		wantStatus(t, w, c.code, "")
		if c.code == 405 && w.Header().Get("Allow") != "POST" {
			t.Errorf("%s %s: Allow %q", c.method, c.target, w.Header().Get("Allow"))
		}
	}
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
}

func preEvent(t testing.TB, id, fileID string) []byte {
	return accountEvent(t, "upload.pre-transform.success", id,
		map[string]any{"x_request_id": "req_1", "transformation": "rt-90"},
		map[string]any{"fileId": fileID, "name": "a.jpg", "filePath": "/a.jpg"})
}

func postEvent(t testing.TB, typ, id, fileID string, tr map[string]any) []byte {
	return accountEvent(t, typ, id,
		map[string]any{"x_request_id": "req_1", "transformation": tr},
		map[string]any{"fileId": fileID, "url": "https://x/a.jpg", "name": "a.jpg"})
}

func TestAccountRouteApplies(t *testing.T) {
	t.Parallel()
	pre := preEvent(t, "evt_pre", "file_1")
	post := postEvent(t, "upload.post-transform.error", "evt_post", "file_2",
		map[string]any{"type": "abs", "value": "sr-240_360", "protocol": "hls"})
	signings := map[string]func(id string, body []byte) http.Header{
		"standard only": func(id string, body []byte) http.Header { return standardHeaders(accountSecret, id, fixedNow, body) },
		"legacy only": func(_ string, body []byte) http.Header {
			return http.Header{"X-Ik-Signature": {legacyHeader(accountSecret, fixedNow, body)}}
		},
		"both": func(id string, body []byte) http.Header { return signBoth(accountSecret, id, fixedNow, body) },
	}
	for name, sign := range signings {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			wantStatus(t, f.post("/webhooks/imagekit", pre, sign("evt_pre", pre)), 200, "applied")
			wantStatus(t, f.post("/webhooks/imagekit", post, sign("evt_post", post)), 200, "applied")
			want := []call{
				{"ApplyForFile", "file_1", completion.PreTransformItem, completion.Success},
				{"ApplyForFile", "file_2", completion.PostTransformItem("abs", "sr-240_360", "hls"), completion.Failed},
			}
			if calls := f.merger.Calls(); !reflect.DeepEqual(calls, want) {
				t.Fatalf("Merger calls\n%+v\nwant\n%+v", calls, want)
			}
			if n := f.count(t, metrics.WebhookAccount, metrics.WebhookApplied); n != 2 {
				t.Fatalf("applied counted %v times", n)
			}
			if len(f.Relayed()) != 0 {
				t.Fatal("an account event was relayed")
			}
		})
	}
}

func TestAccountRouteMergerDuplicate(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.merger.setAnswer(answerDuplicate)
	body := preEvent(t, "evt_1", "file_1")
	wantStatus(t, f.post("/webhooks/imagekit", body, signBoth(accountSecret, "evt_1", fixedNow, body)), 200, "duplicate")
}

func TestAccountRouteRefuses(t *testing.T) {
	t.Parallel()
	body := preEvent(t, "evt_1", "file_1")
	good := signBoth(accountSecret, "evt_1", fixedNow, body)
	edit := func(e func(h http.Header)) http.Header {
		h := good.Clone()
		e(h)
		return h
	}
	cases := []struct {
		name string
		h    http.Header
	}{
		{"no signature headers", http.Header{}},
		{"forged Standard signature", edit(func(h http.Header) {
			h.Set("webhook-signature", "v1,"+strings.Repeat("A", 43)+"=")
			h.Del("x-ik-signature")
		})},
		{"forged legacy signature", http.Header{"X-Ik-Signature": {"t=" + good.Get("webhook-timestamp") + "000,v1=" + strings.Repeat("0", 64)}}},
		{"Standard good, legacy forged", edit(func(h http.Header) {
			h.Set("x-ik-signature", "t="+good.Get("webhook-timestamp")+"000,v1="+strings.Repeat("0", 64))
		})},
		{"legacy good, Standard forged", edit(func(h http.Header) { h.Set("webhook-signature", "v1,AAAA") })},
		{"wrong secret", signBoth("whsec_not_the_secret", "evt_1", fixedNow, body)},
		{"wrong secret, Standard only", standardHeaders("whsec_not_the_secret", "evt_1", fixedNow, body)},
		{"wrong secret, legacy only", http.Header{"X-Ik-Signature": {legacyHeader("whsec_not_the_secret", fixedNow, body)}}},
		{"6 minutes old", signBoth(accountSecret, "evt_1", fixedNow.Add(-6*time.Minute), body)},
		{"6 minutes ahead", signBoth(accountSecret, "evt_1", fixedNow.Add(6*time.Minute), body)},
		{"6 minutes old, legacy only", http.Header{"X-Ik-Signature": {legacyHeader(accountSecret, fixedNow.Add(-6*time.Minute), body)}}},
		{"6 minutes ahead, Standard only", standardHeaders(accountSecret, "evt_1", fixedNow.Add(6*time.Minute), body)},
		{"no webhook-id", edit(func(h http.Header) { h.Del("webhook-id") })},
		{"no webhook-timestamp", edit(func(h http.Header) { h.Del("webhook-timestamp") })},
		{"empty webhook-signature", edit(func(h http.Header) { h.Set("webhook-signature", "") })},
		{"empty x-ik-signature", edit(func(h http.Header) { h.Set("x-ik-signature", "") })},
		{"signature of another event id", edit(func(h http.Header) { h.Set("webhook-id", "evt_2") })},
	}
	f := newFixture(t, nil)
	for _, c := range cases {
		w := f.post("/webhooks/imagekit", body, c.h)
		if w.Code != 401 {
			t.Errorf("%s: answered %d, want 401; %s", c.name, w.Code, w.Body)
			continue
		}
		wantStatus(t, w, 401, "")
	}
	// A tampered body under good headers.
	wantStatus(t, f.post("/webhooks/imagekit", preEvent(t, "evt_1", "file_evil"), good), 401, "")

	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
	if n := f.count(t, metrics.WebhookAccount, metrics.WebhookRejected); n != float64(len(cases)+1) {
		t.Fatalf("rejected counted %v times, want %d", n, len(cases)+1)
	}
	// Refusals remember no id: the genuine event still applies.
	wantStatus(t, f.post("/webhooks/imagekit", body, good), 200, "applied")
}

func TestAccountRouteDeduplicates(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	body := preEvent(t, "evt_1", "file_1")
	h := signBoth(accountSecret, "evt_1", fixedNow, body)
	wantStatus(t, f.post("/webhooks/imagekit", body, h), 200, "applied")
	wantStatus(t, f.post("/webhooks/imagekit", body, h), 200, "duplicate")
	// Redelivered later, signed again with a new timestamp: still the same event.
	h = signBoth(accountSecret, "evt_1", fixedNow.Add(-time.Minute), body)
	wantStatus(t, f.post("/webhooks/imagekit", body, h), 200, "duplicate")
	if calls := f.merger.Calls(); len(calls) != 1 {
		t.Fatalf("Merger called %d times: %+v", len(calls), calls)
	}
	if n := f.count(t, metrics.WebhookAccount, metrics.WebhookDuplicate); n != 2 {
		t.Fatalf("duplicate counted %v times", n)
	}

	// Legacy-only deliveries are deduplicated by the body's id.
	body = preEvent(t, "evt_legacy", "file_2")
	legacy := http.Header{"X-Ik-Signature": {legacyHeader(accountSecret, fixedNow, body)}}
	wantStatus(t, f.post("/webhooks/imagekit", body, legacy), 200, "applied")
	wantStatus(t, f.post("/webhooks/imagekit", body, legacy), 200, "duplicate")
	if calls := f.merger.Calls(); len(calls) != 2 {
		t.Fatalf("Merger called %d times: %+v", len(calls), calls)
	}
}

func TestAccountRouteForgetsIDWhenApplyFails(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	body := preEvent(t, "evt_1", "file_1")
	h := signBoth(accountSecret, "evt_1", fixedNow, body)
	f.merger.setAnswer(answerError)
	wantStatus(t, f.post("/webhooks/imagekit", body, h), 503, "")
	f.merger.setAnswer(answerChanged)
	wantStatus(t, f.post("/webhooks/imagekit", body, h), 200, "applied")
	if calls := f.merger.Calls(); len(calls) != 2 {
		t.Fatalf("Merger called %d times, want 2 (the failure and ImageKit's retry)", len(calls))
	}
}

func TestAccountRouteIgnores(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cases := map[string][]byte{
		"video.transformation.ready": accountEvent(t, "video.transformation.ready", "evt_v",
			map[string]any{"x_request_id": "r", "url": "https://x/v.mp4"},
			map[string]any{"asset": map[string]any{"url": "https://x/v.mp4"}, "transformation": map[string]any{"type": "video-transformation"}}),
		"video.transformation.error": accountEvent(t, "video.transformation.error", "evt_ve", nil, map[string]any{}),
		"file.created":               accountEvent(t, "file.created", "evt_f", nil, map[string]any{"fileId": "file_1"}),
		"pre-transform error, no fileId": accountEvent(t, "upload.pre-transform.error", "evt_pe",
			map[string]any{"transformation": "so-70"},
			map[string]any{"name": "v.mp4", "path": "/v.mp4", "transformation": map[string]any{"error": map[string]any{"reason": "encoding_failed"}}}),
	}
	for name, body := range cases {
		w := f.post("/webhooks/imagekit", body, signBoth(accountSecret, "id-"+name, fixedNow, body))
		if w.Code != 200 {
			t.Errorf("%s: %d %s", name, w.Code, w.Body)
			continue
		}
		wantStatus(t, w, 200, "ignored")
	}
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
}

func TestAccountRouteInvalidSignedBody(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	for _, body := range [][]byte{[]byte(`not json`), []byte(`{"id":"x"}`), []byte(`[]`)} {
		wantStatus(t, f.post("/webhooks/imagekit", body, signBoth(accountSecret, "evt", fixedNow, body)), 400, "")
	}
	big := bytes.Repeat([]byte("x"), webhook.DefaultMaxBody+1)
	wantStatus(t, f.post("/webhooks/imagekit", big, signBoth(accountSecret, "evt", fixedNow, big)), 413, "")
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
}

func TestAccountRouteNotConfigured(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(c *webhook.TestConfig) { c.AccountSecret = "" })
	body := preEvent(t, "evt_1", "file_1")
	wantStatus(t, f.post("/webhooks/imagekit", body, signBoth(accountSecret, "evt_1", fixedNow, body)), 503, "")
	wantStatus(t, f.post("/webhooks/imagekit", body, nil), 503, "")
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
	// The per-job route works without it.
	wantStatus(t, f.post(f.jobPath("job_1"), []byte(removeBGSuccess), nil), 200, "applied")
}

func TestAccountRouteUnknownJob(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.merger.setAnswer(answerNotFound)
	body := preEvent(t, "evt_1", "file_1")
	wantStatus(t, f.post("/webhooks/imagekit", body, signBoth(accountSecret, "evt_1", fixedNow, body)), 200, "ignored")
}

func TestAccountRouteRedisDown(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	f := newFixture(t, func(c *webhook.TestConfig) { c.Redis = rdb })
	_ = rdb.Close()
	body := preEvent(t, "evt_1", "file_1")
	wantStatus(t, f.post("/webhooks/imagekit", body, signBoth(accountSecret, "evt_1", fixedNow, body)), 503, "")
	if calls := f.merger.Calls(); len(calls) != 0 {
		t.Fatalf("Merger called: %+v", calls)
	}
}

func TestNewHandlerValidates(t *testing.T) {
	t.Parallel()
	capability := mustCapability(t, capabilitySecret)
	rdb := redistest.New(t).Client(t)
	cases := []struct {
		name  string
		cfg   webhook.Config
		field string
	}{
		{"no Redis", webhook.Config{Capability: capability}, "Redis"},
		{"no Capability", webhook.Config{Redis: rdb}, "Capability"},
		{"negative Tolerance", webhook.Config{Redis: rdb, Capability: capability, Tolerance: -1}, "Tolerance"},
		{"negative MaxBody", webhook.Config{Redis: rdb, Capability: capability, MaxBody: -1}, "MaxBody"},
	}
	for _, c := range cases {
		if _, err := webhook.NewHandler(c.cfg); err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.field)
		}
	}
	if _, err := webhook.NewHandler(webhook.Config{Redis: rdb, Capability: capability}); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	// A handler given its parts (as tests do) needs Redis only for the account secret.
	fake := webhook.TestConfig{Config: webhook.Config{Capability: capability, AccountSecret: "s"}, Merger: newFakeMerger()}
	if _, err := webhook.NewTestHandler(fake); err == nil || !strings.Contains(err.Error(), "Redis") {
		t.Errorf("secret without Redis: %v, want an error naming Redis", err)
	}
	if _, err := webhook.NewTestHandler(webhook.TestConfig{Config: webhook.Config{Capability: capability}}); err == nil || !strings.Contains(err.Error(), "Merger") {
		t.Errorf("no Merger: %v, want an error naming Merger", err)
	}
}
