package webhook_test

import (
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/webhook"
)

func mustCapability(t *testing.T, secret string) *webhook.Capability {
	t.Helper()
	c, err := webhook.NewCapability([]byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCapabilityToken(t *testing.T) {
	t.Parallel()
	a := mustCapability(t, capabilitySecret)
	b := mustCapability(t, capabilitySecret+"-other")

	tok := a.Token("job-1")
	if len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
		t.Fatalf("token %q is not 64 lowercase hex digits", tok)
	}
	if again := mustCapability(t, capabilitySecret).Token("job-1"); again != tok {
		t.Fatalf("token changed: %q then %q", tok, again)
	}
	if a.Token("job-2") == tok {
		t.Fatal("two jobs share a token")
	}
	if b.Token("job-1") == tok {
		t.Fatal("two secrets give the same token")
	}

	cases := []struct {
		name, job, token string
		want             bool
	}{
		{"its own token", "job-1", tok, true},
		{"another job's token", "job-2", tok, false},
		{"another secret's token", "job-1", b.Token("job-1"), false},
		{"empty", "job-1", "", false},
		{"truncated", "job-1", tok[:63], false},
		{"one digit changed", "job-1", tok[:63] + string("0123456789abcdef"[(strings.IndexByte("0123456789abcdef", tok[63])+1)%16]), false},
		{"longer", "job-1", tok + "00", false},
		{"not hex", "job-1", strings.Repeat("z", 64), false},
		{"empty job id", "", a.Token(""), true},
	}
	for _, c := range cases {
		if got := a.Valid(c.job, c.token); got != c.want {
			t.Errorf("%s: Valid(%q, %q) = %v, want %v", c.name, c.job, c.token, got, c.want)
		}
	}
}

func TestNewCapabilityRefusesShortSecret(t *testing.T) {
	t.Parallel()
	if _, err := webhook.NewCapability([]byte(strings.Repeat("x", 31))); !errors.Is(err, webhook.ErrShortSecret) {
		t.Fatalf("31-byte secret: %v, want ErrShortSecret", err)
	}
	if _, err := webhook.NewCapability(nil); !errors.Is(err, webhook.ErrShortSecret) {
		t.Fatalf("no secret: %v, want ErrShortSecret", err)
	}
	if _, err := webhook.NewCapability([]byte(strings.Repeat("x", 32))); err != nil {
		t.Fatalf("32-byte secret: %v", err)
	}
}

func TestCapabilityURL(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	cases := []struct{ public, job, wantPrefix string }{
		{"https://ikq.example.com", "01JABCDEF", "https://ikq.example.com/webhooks/imagekit/01JABCDEF?token="},
		{"https://ikq.example.com/", "01JABCDEF", "https://ikq.example.com/webhooks/imagekit/01JABCDEF?token="},
		{"http://127.0.0.1:8080//", "job-1", "http://127.0.0.1:8080/webhooks/imagekit/job-1?token="},
		{"https://example.com/ikq", "a/b c?d#e%f", "https://example.com/ikq/webhooks/imagekit/a%2Fb%20c%3Fd%23e%25f?token="},
	}
	for _, c := range cases {
		u := f.capability.URL(c.public, c.job)
		if !strings.HasPrefix(u, c.wantPrefix) || strings.TrimPrefix(u, c.wantPrefix) != f.capability.Token(c.job) {
			t.Errorf("URL(%q, %q) = %q, want %s<token>", c.public, c.job, u, c.wantPrefix)
			continue
		}
		// The receiver must find the same job id in the URL it made.
		parsed, err := url.Parse(u)
		if err != nil {
			t.Fatal(err)
		}
		target := strings.TrimPrefix(parsed.RequestURI(), "/ikq")
		w := f.post(target, []byte(`{"service":"remove-bg","status":"SUCCESS","fileObject":{"fileId":"f1"}}`), nil)
		wantStatus(t, w, 200, "applied")
		calls := f.merger.Calls()
		if last := calls[len(calls)-1]; last.Key != c.job {
			t.Errorf("URL %q reached job %q, want %q", u, last.Key, c.job)
		}
	}
}

func TestLoadOrCreateSecret(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	ctx := t.Context()

	first, err := webhook.LoadOrCreateSecret(ctx, rdb, "")
	if err != nil {
		t.Fatal(err)
	}
	if len(first) < webhook.MinSecretLen {
		t.Fatalf("secret of %d bytes", len(first))
	}
	if _, err := webhook.NewCapability(first); err != nil {
		t.Fatalf("the created secret does not make a Capability: %v", err)
	}
	again, err := webhook.LoadOrCreateSecret(ctx, rdb, "")
	if err != nil || string(again) != string(first) {
		t.Fatalf("second call: %q, %v; want %q", again, err, first)
	}
	stored, err := rdb.Get(ctx, webhook.SecretKey).Result()
	if err != nil || stored != string(first) {
		t.Fatalf("Redis holds %q (%v), want %q", stored, err, first)
	}

	configured := strings.Repeat("c", 32)
	got, err := webhook.LoadOrCreateSecret(ctx, rdb, configured)
	if err != nil || string(got) != configured {
		t.Fatalf("configured: %q, %v; want the configured secret", got, err)
	}
	if _, err := webhook.LoadOrCreateSecret(ctx, rdb, "too short"); !errors.Is(err, webhook.ErrShortSecret) {
		t.Fatalf("short configured secret: %v, want ErrShortSecret", err)
	}
	if _, err := webhook.LoadOrCreateSecret(ctx, nil, ""); err == nil {
		t.Fatal("no secret and no Redis: no error")
	}
}

func TestLoadOrCreateSecretConcurrently(t *testing.T) {
	t.Parallel()
	r := redistest.New(t)
	const n = 8
	secrets := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		rdb := r.Client(t) // each its own client, as separate processes would have
		wg.Go(func() {
			secrets[i], errs[i] = webhook.LoadOrCreateSecret(t.Context(), rdb, "")
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if string(secrets[i]) != string(secrets[0]) {
			t.Fatalf("caller %d got %q, caller 0 %q", i, secrets[i], secrets[0])
		}
	}
}
