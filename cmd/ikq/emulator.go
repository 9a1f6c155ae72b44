package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/internal/emulator"
	"github.com/ikq-dev/ikq/internal/httpserve"
	"github.com/ikq-dev/ikq/internal/netguard"
)

func runEmulator(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	var (
		cfg      emulator.Config
		listen   = fs.String("listen", envOr("IKQ_EMULATOR_LISTEN", "127.0.0.1:9090"), "address to listen on (IKQ_EMULATOR_LISTEN)")
		maxFile  = bytesize.Size(25 << 20)
		maxVideo = bytesize.Size(300 << 20)
		failExt  string
		fetchAll string
		logLevel string
		maxConns int
	)
	// Secrets are never flag defaults, so -h never prints them: the environment is read
	// after parsing.
	fs.StringVar(&cfg.PrivateKey, "private-key", "", "private API key uploads authenticate with (IKQ_EMULATOR_PRIVATE_KEY; default private_test)")
	fs.StringVar(&cfg.PublicKey, "public-key", "public_test", "public API key of client-side uploads")
	fs.StringVar(&cfg.URLEndpointID, "url-endpoint-id", "emulator", "first path segment of file URLs")
	fs.StringVar(&cfg.PublicURL, "public-url", "", "base of the URLs in responses (default: from each request's Host)")
	fs.StringVar(&cfg.DataDir, "data", "", "directory that keeps files and metadata across restarts (default: memory only)")
	fs.Var(&maxFile, "max-file-size", "largest upload accepted")
	fs.Var(&maxVideo, "max-video-size", "largest video upload accepted")
	fs.DurationVar(&cfg.URLHeaderTimeout, "url-timeout", 8*time.Second, "wait for a URL source's response headers")
	fs.DurationVar(&cfg.ExtensionDelay, "extension-delay", 2*time.Second, "time pending extensions take before their webhook")
	fs.BoolVar(&cfg.PendingAutoTagging, "pending-auto-tagging", false, "auto-tagging answers pending and finishes by webhook")
	fs.StringVar(&failExt, "fail-extensions", "", "comma-separated extensions (or pre-transform, post-transform) whose outcome is failure")
	fs.DurationVar(&cfg.WebhookRetryFor, "webhook-retry-for", time.Minute, "how long webhook deliveries are retried")
	fs.StringVar(&cfg.AccountWebhookURL, "webhook-url", "", "URL receiving account events (upload.pre-transform.*, upload.post-transform.*)")
	fs.StringVar(&cfg.AccountWebhookSecret, "webhook-secret", "", "secret signing account events (IKQ_EMULATOR_WEBHOOK_SECRET)")
	fs.DurationVar(&cfg.Faults.Latency, "latency", 0, "latency added to every upload")
	fs.DurationVar(&cfg.Faults.LatencyJitter, "latency-jitter", 0, "up to this much more latency, at random")
	fs.Float64Var(&cfg.Faults.ErrorRate, "error-rate", 0, "fraction of uploads answered 500 or 503")
	fs.Float64Var(&cfg.Faults.RateLimitRate, "rate-limit-rate", 0, "fraction of uploads answered 429")
	fs.DurationVar(&cfg.Faults.RateLimitReset, "rate-limit-reset", time.Second, "X-RateLimit-Reset of injected 429s")
	fs.Uint64Var(&cfg.Faults.Seed, "seed", 0, "seed of the random faults (0: from the clock)")
	fs.StringVar(&fetchAll, "fetch-allow", envOr("IKQ_EMULATOR_FETCH_ALLOW", ""), "host names, IPs or CIDRs, comma-separated, that URL sources (file=<url>) may reach although private, loopback or link-local, e.g. 127.0.0.0/8,::1 (IKQ_EMULATOR_FETCH_ALLOW; default: refused, as ImageKit would)")
	fs.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	fs.IntVar(&maxConns, "max-conns", 0, "connections served at once; more wait to be accepted (default: half the open-file limit, at most 4096)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["private-key"] {
		cfg.PrivateKey = envOr("IKQ_EMULATOR_PRIVATE_KEY", "private_test")
	}
	if !set["webhook-secret"] {
		cfg.AccountWebhookSecret = os.Getenv("IKQ_EMULATOR_WEBHOOK_SECRET")
	}
	cfg.MaxFileSize, cfg.MaxVideoSize = int64(maxFile), int64(maxVideo)
	allow, err := netguard.ParseAllow(fetchAll)
	if err != nil {
		return usageError{"-fetch-allow: " + err.Error()}
	}
	cfg.FetchAllow = allow
	if failExt != "" {
		cfg.FailExtensions = strings.Split(failExt, ",")
	}
	var level slog.Level
	if err := level.UnmarshalText([]byte(logLevel)); err != nil {
		return usageError{"-log-level: " + err.Error()}
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if maxConns < 0 {
		return usageError{"-max-conns must not be negative"}
	}
	if cfg.PrivateKey == "" {
		return usageError{"-private-key must not be empty"}
	}
	srv, err := emulator.New(cfg)
	if err != nil {
		return usageError{err.Error()}
	}
	defer func() { _ = srv.Close() }()
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "ikq emulator: ImageKit Upload API on http://%s/api/v1/files/upload and /api/v2/files/upload\n", ln.Addr())
	limits := emulatorLimits
	limits.MaxConns = maxConns
	return httpserve.Serve(ctx, ln, srv, limits, cfg.Logger)
}

// Limits of ikq's HTTP servers. Bodies and responses are paced (httpserve), so the
// emulator's 300 MB uploads need no limits of their own.
var (
	// emulatorLimits: clients are workers and SDKs, keeping connections alive.
	emulatorLimits = httpserve.Limits{}
	// metricsLimits: a scraper and a health check, a few requests a minute.
	metricsLimits = httpserve.Limits{ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 16 << 10, MaxConns: 64}
)
