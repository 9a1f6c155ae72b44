package webhook_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/webhook"
)

func TestMain(m *testing.M) { ikqtest.Main(m) }

const (
	accountSecret    = "whsec_account_test_secret"
	capabilitySecret = "0123456789abcdef0123456789abcdef-test-capability"
)

// fixedNow is the clock of handlers under test; signatures are made relative to it.
var fixedNow = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)

// call is one call the receiver made to the Merger.
type call struct {
	Method string // ApplyItem or ApplyForFile
	Key    string // the job id or the fileId
	Item   string
	Status string
}

// Merger answers, as fakeMerger is told.
const (
	answerChanged    = iota // changed
	answerDuplicate         // not changed
	answerNotFound          // jobstore.ErrNotFound
	answerUnknownJob        // completion.ErrUnknownJob alone
	answerError             // a store failure
)

// fakeMerger records the calls it gets and answers as told.
type fakeMerger struct {
	mu     sync.Mutex
	answer int
	calls  []call
	called chan struct{} // a non-blocking signal per call
}

func newFakeMerger() *fakeMerger { return &fakeMerger{called: make(chan struct{}, 1)} }

var errStoreDown = errors.New("job store unavailable")

func (f *fakeMerger) apply(c call) (bool, error) {
	f.mu.Lock()
	f.calls = append(f.calls, c)
	answer := f.answer
	f.mu.Unlock()
	select {
	case f.called <- struct{}{}:
	default:
	}
	switch answer {
	case answerDuplicate:
		return false, nil
	case answerNotFound:
		return false, fmt.Errorf("job %s: %w", c.Key, jobstore.ErrNotFound)
	case answerUnknownJob:
		return false, fmt.Errorf("%w: %s", completion.ErrUnknownJob, c.Key)
	case answerError:
		return false, errStoreDown
	}
	return true, nil
}

func (f *fakeMerger) ApplyItem(_ context.Context, jobID, item, status string) (bool, error) {
	return f.apply(call{"ApplyItem", jobID, item, status})
}

func (f *fakeMerger) ApplyForFile(_ context.Context, fileID, item, status string) (bool, error) {
	return f.apply(call{"ApplyForFile", fileID, item, status})
}

func (f *fakeMerger) setAnswer(a int) {
	f.mu.Lock()
	f.answer = a
	f.mu.Unlock()
}

func (f *fakeMerger) Calls() []call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]call(nil), f.calls...)
}

// relayed is one body passed to Config.Relay.
type relayed struct {
	JobID string
	Body  []byte
}

// fixture is a receiver under test with its fake Merger, metrics and relay.
type fixture struct {
	h          http.Handler
	merger     *fakeMerger
	capability *webhook.Capability
	reg        *prometheus.Registry

	mu       sync.Mutex
	relayed  []relayed
	relayErr error
}

// newFixture makes a receiver keyed with accountSecret and capabilitySecret, with a
// clock stopped at fixedNow and its own Redis database. edit adjusts the Config.
func newFixture(t testing.TB, edit func(*webhook.TestConfig)) *fixture {
	t.Helper()
	capability, err := webhook.NewCapability([]byte(capabilitySecret))
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{merger: newFakeMerger(), capability: capability, reg: prometheus.NewRegistry()}
	m := metrics.New()
	if err := m.Register(f.reg); err != nil {
		t.Fatal(err)
	}
	cfg := webhook.TestConfig{
		Config: webhook.Config{
			Capability:    capability,
			AccountSecret: accountSecret,
			Redis:         redistest.New(t).Client(t),
			Now:           func() time.Time { return fixedNow },
		},
		Merger: f.merger,
		Relay: func(_ context.Context, jobID string, body []byte) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.relayed = append(f.relayed, relayed{jobID, append([]byte(nil), body...)})
			return f.relayErr
		},
		Metrics: m,
	}
	if edit != nil {
		edit(&cfg)
	}
	f.h, err = webhook.NewTestHandler(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func (f *fixture) Relayed() []relayed {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]relayed(nil), f.relayed...)
}

// count returns ikq_webhooks_total{kind,result}.
func (f *fixture) count(t *testing.T, kind, result string) float64 {
	t.Helper()
	mfs, err := f.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "ikq_webhooks_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["kind"] == kind && labels["result"] == result {
				return m.GetCounter().GetValue()
			}
		}
	}
	t.Fatalf("no ikq_webhooks_total{kind=%q,result=%q}", kind, result)
	return 0
}

// post sends body to target (a path with its query) through the handler.
func (f *fixture) post(target string, body []byte, h http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for k, vs := range h {
		r.Header[k] = vs
	}
	w := httptest.NewRecorder()
	f.h.ServeHTTP(w, r)
	return w
}

// jobPath is the per-job route with the job's valid token.
func (f *fixture) jobPath(jobID string) string {
	return "/webhooks/imagekit/" + jobID + "?token=" + f.capability.Token(jobID)
}

// wantStatus checks an answer's code and, for 200, its {"status"}; other answers
// must be problem+json.
func wantStatus(t *testing.T, w *httptest.ResponseRecorder, code int, status string) {
	t.Helper()
	if w.Code != code {
		t.Fatalf("answered %d, want %d; body %s", w.Code, code, w.Body)
	}
	if code != http.StatusOK {
		if ct := w.Header().Get("Content-Type"); ct != "application/problem+json" {
			t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, w.Body)
		}
		var p struct {
			Type   string `json:"type"`
			Status int    `json:"status"`
			Detail string `json:"detail"`
		}
		if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != code || p.Type == "" || p.Detail == "" {
			t.Fatalf("problem %s (%v)", w.Body, err)
		}
		return
	}
	var got struct{ Status string }
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
		t.Fatalf("body %s: %v", w.Body, err)
	}
	if got.Status != status {
		t.Fatalf("status %q, want %q; body %s", got.Status, status, w.Body)
	}
}

// standardHeaders signs body as Standard Webhooks do, computed here by hand: key the
// raw secret bytes, HMAC-SHA256 of "id.ts.body", base64.
func standardHeaders(secret, id string, ts time.Time, body []byte) http.Header {
	sec := strconv.FormatInt(ts.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(id + "." + sec + "."))
	mac.Write(body)
	h := http.Header{}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", sec)
	h.Set("webhook-signature", "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	return h
}

// legacyHeader is x-ik-signature, computed here by hand: t in milliseconds, hex
// HMAC-SHA256 of "t.body" keyed with the secret string.
func legacyHeader(secret string, ts time.Time, body []byte) string {
	t := strconv.FormatInt(ts.UnixMilli(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(t + "."))
	mac.Write(body)
	return "t=" + t + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// signBoth signs body both ways, as the emulator and ImageKit may.
func signBoth(secret, id string, ts time.Time, body []byte) http.Header {
	h := standardHeaders(secret, id, ts, body)
	h.Set("x-ik-signature", legacyHeader(secret, ts, body))
	return h
}

// accountEvent encodes an account event like the emulator's.
func accountEvent(t testing.TB, typ, id string, request, data map[string]any) []byte {
	t.Helper()
	b, err := json.Marshal(map[string]any{
		"type": typ, "id": id, "created_at": fixedNow.Format("2006-01-02T15:04:05.000Z"),
		"request": request, "data": data,
	})
	if err != nil {
		t.Fatal(err)
	}
	return b
}
