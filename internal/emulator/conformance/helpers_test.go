package conformance_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ikq-dev/ikq/internal/emulator"
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

// sink receives the emulator's account webhooks.
type sink struct {
	ts *httptest.Server
	ch chan hook
}

func newSink(t *testing.T) *sink {
	s := &sink{ch: make(chan hook, 64)}
	s.ts = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		s.ch <- hook{body: b, header: r.Header.Clone()}
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
func startEmulator(t *testing.T) (string, *sink) {
	t.Helper()
	hooks := newSink(t)
	emu, err := emulator.New(emulator.Config{
		PrivateKey: privateKey, PublicKey: publicKey,
		AccountWebhookURL: hooks.ts.URL, AccountWebhookSecret: webhookSecret,
		ExtensionDelay: 50 * time.Millisecond, WebhookRetryFor: 5 * time.Second,
		FetchAllow: []string{"127.0.0.0/8", "::1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(emu)
	t.Cleanup(func() {
		ts.Close()
		emu.Close()
	})
	return ts.URL, hooks
}
