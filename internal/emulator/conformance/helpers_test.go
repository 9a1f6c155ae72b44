package conformance_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
)

const (
	privateKey    = "private_conformance"
	publicKey     = "public_conformance"
	webhookSecret = "whsec_conformance_secret"
)

// hook is one account event the emulator delivered.
type hook struct {
	body   []byte
	header http.Header
}

// sink receives the emulator's account webhooks (POST), lists them for the Node
// scripts (GET /events: [{"body": "...", "headers": {...}}]), and serves a PNG as a
// URL source (GET /sample.png).
type sink struct {
	ts     *httptest.Server
	ch     chan hook
	mu     sync.Mutex
	events []map[string]any
}

func newSink(t *testing.T, sample []byte) *sink {
	s := &sink{ch: make(chan hook, 64)}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.Method == http.MethodGet && r.URL.Path == "/sample.png":
			w.Header().Set("Content-Type", "image/png")
			w.Write(sample)
		case r.Method == http.MethodGet && r.URL.Path == "/events":
			s.mu.Lock()
			b, _ := json.Marshal(s.events)
			s.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			w.Write(b)
		case r.Method == http.MethodPost:
			b, _ := io.ReadAll(r.Body)
			headers := map[string]string{}
			for k := range r.Header {
				headers[strings.ToLower(k)] = r.Header.Get(k)
			}
			s.mu.Lock()
			s.events = append(s.events, map[string]any{"body": string(b), "headers": headers})
			s.mu.Unlock()
			select {
			case s.ch <- hook{body: b, header: r.Header.Clone()}:
			default: // nobody in Go is waiting; the Node scripts read /events
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(s.ts.Close)
	return s
}

func (s *sink) next(t *testing.T) hook {
	t.Helper()
	select {
	case h := <-s.ch:
		return h
	case <-time.After(10 * time.Second):
		t.Fatal("no account webhook arrived")
		return hook{}
	}
}

// startEmulator serves an emulator on loopback whose account events go to a sink.
// URL sources are loopback servers, so loopback is allowed.
func startEmulator(t *testing.T, sample []byte) (string, *sink) {
	t.Helper()
	hooks := newSink(t, sample)
	_, url := e2e.StartEmulator(t, emulator.Config{
		PrivateKey: privateKey, PublicKey: publicKey,
		AccountWebhookURL: hooks.ts.URL, AccountWebhookSecret: webhookSecret,
		ExtensionDelay: 50 * time.Millisecond, WebhookRetryFor: 5 * time.Second,
		FetchAllow: e2e.LoopbackAllow,
	})
	return url, hooks
}
