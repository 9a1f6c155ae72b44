package emulator

import (
	"errors"
	"log/slog"
	"net/http"
	"time"
)

// Config configures an emulator. The zero value of every field means its default.
type Config struct {
	// PrivateKey is the private API key uploads authenticate with. Required.
	PrivateKey string
	// PublicKey identifies client-side uploads (v1 publicKey, v2 JWT kid). Default "public_test".
	PublicKey string
	// URLEndpointID is the first path segment of every file URL, like an ImageKit
	// account's id in https://ik.imagekit.io/<id>/. Default "emulator".
	URLEndpointID string
	// PublicURL is the base of the URLs in responses, for example http://127.0.0.1:9090.
	// Default: derived from each request's Host header.
	PublicURL string
	// DataDir keeps files and metadata across restarts. Empty: memory only.
	DataDir string

	// MaxFileSize and MaxVideoSize are the largest uploads accepted. Defaults 25 MB and 300 MB.
	MaxFileSize  int64
	MaxVideoSize int64
	// URLHeaderTimeout bounds the wait for a URL source's response headers. Default 8s,
	// the Upload API's own limit.
	URLHeaderTimeout time.Duration
	// HTTPClient delivers webhooks. Default: a client with no overall timeout (the
	// delivery timeout is applied per request).
	HTTPClient *http.Client
	// FetchAllow lists the host names, IPs and CIDRs that URL sources may reach
	// although they are private, loopback, link-local or metadata addresses, which
	// the emulator's downloader otherwise refuses, as ImageKit's would ("127.0.0.0/8",
	// "::1"; see netguard.ParseAllow).
	FetchAllow []string

	// ExtensionDelay is how long pending extensions take before their webhook is sent.
	// Default 2s.
	ExtensionDelay time.Duration
	// PendingAutoTagging makes google- and aws-auto-tagging answer "pending" and finish by
	// webhook, as ImageKit does when tagging does not finish within the request.
	PendingAutoTagging bool
	// FailExtensions names extensions whose final status is failed instead of success.
	FailExtensions []string
	// WebhookRetryFor bounds how long a webhook delivery is retried. Default 1 minute
	// (ImageKit retries for up to 24 hours).
	WebhookRetryFor time.Duration
	// WebhookTimeout is how long a webhook receiver may take to answer. Default 30s.
	WebhookTimeout time.Duration

	// AccountWebhookURL receives account events (upload.pre-transform.*, upload.post-transform.*).
	AccountWebhookURL string
	// AccountWebhookSecret signs account events.
	AccountWebhookSecret string

	// Faults injected into uploads, for tests and benchmarks.
	Faults FaultConfig

	// Logger receives one line per request error and webhook delivery. Default: discard.
	Logger *slog.Logger
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// FaultConfig injects failures into uploads.
type FaultConfig struct {
	// Latency is added to every upload; LatencyJitter adds up to that much more at random.
	Latency       time.Duration
	LatencyJitter time.Duration
	// ErrorRate is the fraction of uploads answered 500 or 503.
	ErrorRate float64
	// RateLimitRate is the fraction of uploads answered 429 with X-RateLimit-* headers.
	RateLimitRate float64
	// RateLimitReset is the X-RateLimit-Reset those 429s carry. Default 1s.
	RateLimitReset time.Duration
	// Seed makes the random choices repeatable. Zero: seeded from the clock.
	Seed uint64
}

const (
	defaultMaxFileSize  = 25 << 20
	defaultMaxVideoSize = 300 << 20
)

func (c Config) withDefaults() (Config, error) {
	if c.PrivateKey == "" {
		return c, errors.New("emulator: PrivateKey is required")
	}
	if c.PublicKey == "" {
		c.PublicKey = "public_test"
	}
	if c.URLEndpointID == "" {
		c.URLEndpointID = "emulator"
	}
	if c.MaxFileSize <= 0 {
		c.MaxFileSize = defaultMaxFileSize
	}
	if c.MaxVideoSize <= 0 {
		c.MaxVideoSize = defaultMaxVideoSize
	}
	if c.URLHeaderTimeout <= 0 {
		c.URLHeaderTimeout = 8 * time.Second
	}
	if c.HTTPClient == nil {
		c.HTTPClient = &http.Client{}
	}
	if c.ExtensionDelay <= 0 {
		c.ExtensionDelay = 2 * time.Second
	}
	if c.WebhookRetryFor <= 0 {
		c.WebhookRetryFor = time.Minute
	}
	if c.WebhookTimeout <= 0 {
		c.WebhookTimeout = 30 * time.Second
	}
	if c.Faults.RateLimitReset <= 0 {
		c.Faults.RateLimitReset = time.Second
	}
	if c.Faults.ErrorRate < 0 || c.Faults.ErrorRate > 1 {
		return c, errors.New("emulator: Faults.ErrorRate must be between 0 and 1")
	}
	if c.Faults.RateLimitRate < 0 || c.Faults.RateLimitRate > 1 {
		return c, errors.New("emulator: Faults.RateLimitRate must be between 0 and 1")
	}
	if c.Faults.ErrorRate+c.Faults.RateLimitRate > 1 {
		return c, errors.New("emulator: Faults.ErrorRate plus Faults.RateLimitRate must not exceed 1")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}
