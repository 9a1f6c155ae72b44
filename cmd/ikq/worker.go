package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/internal/httpserve"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/worker"
	"github.com/prometheus/client_golang/prometheus"
)

const (
	defaultUploadURL = worker.DefaultUploadURL
	defaultAPIURL    = worker.DefaultAPIURL
)

// workerSettings configure an upload worker: `ikq worker`'s, and the one inside
// `ikq dev`, which both build through buildWorker.
type workerSettings struct {
	privateKey       string
	uploadURL        string
	apiURL           string
	concurrency      int
	queues           map[string]int
	shutdownGrace    time.Duration
	retryBase        time.Duration
	fileRoot         string
	maxFileSize      bytesize.Size
	s3Endpoint       string
	fetchAllow       string
	publicURL        string
	retention        time.Duration // the common settings, copied here by the command
	waitReplicas     int
	waitTimeout      time.Duration
	webhookSecret    string
	callbackSecret   string
	capabilitySecret string
	sweepInterval    time.Duration
	sweepGrace       time.Duration
	sourceIdle       time.Duration
	sourceMinRate    bytesize.Size
	sourceHostShare  int
}

func (w *workerSettings) register(fs *flag.FlagSet) {
	define(fs, settingDef{Flag: "imagekit-private-key", Env: "IMAGEKIT_PRIVATE_KEY", Secret: true,
		Doc: "ImageKit private API key", Parse: textValue(&w.privateKey)})
	define(fs, settingDef{Flag: "imagekit-upload-url", Env: "IMAGEKIT_UPLOAD_URL", Default: defaultUploadURL,
		Doc: "Upload API endpoint", Parse: httpURLValue(&w.uploadURL, false)})
	define(fs, settingDef{Flag: "imagekit-api-url", Env: "IMAGEKIT_API_URL", Default: defaultAPIURL,
		Doc: "files API base, to check re-runs of overwriteFile=false jobs", Parse: httpURLValue(&w.apiURL, false)})
	define(fs, settingDef{Flag: "concurrency", Env: "IKQ_CONCURRENCY", Default: "32",
		Doc: "uploads in flight", Parse: intValue(&w.concurrency, 1)})
	define(fs, settingDef{Flag: "queues", Env: "IKQ_QUEUES", Default: "critical=6,default=3,low=1",
		Doc: "queue weights", Parse: queuesValue(&w.queues)})
	define(fs, settingDef{Flag: "shutdown-grace", Env: "IKQ_SHUTDOWN_GRACE", Default: "30s",
		Doc: "time running uploads get to finish on SIGTERM", Parse: durationValue(&w.shutdownGrace)})
	define(fs, settingDef{Flag: "sweep-interval", Env: "IKQ_SWEEP_INTERVAL", Default: "1m",
		Doc: "how often to look for open jobs whose task vanished (a Redis failover lost it) and queue them again; 0 never", Parse: durationValue(&w.sweepInterval)})
	define(fs, settingDef{Flag: "sweep-grace", Env: "IKQ_SWEEP_GRACE", Default: "1m",
		Doc: "how long a job must have gone unwritten before the sweep looks at it", Parse: durationValue(&w.sweepGrace)})
	define(fs, settingDef{Flag: "retry-base", Env: "IKQ_RETRY_BASE", Default: "5s",
		Doc: "wait before retrying an upload that failed transiently; it doubles with each attempt, with jitter, up to 10 minutes", Parse: durationValue(&w.retryBase)})
	define(fs, settingDef{Flag: "file-root", Env: "IKQ_FILE_ROOT",
		Doc: "directory under which file:// sources are allowed (default: file:// refused)", Parse: textValue(&w.fileRoot)})
	define(fs, settingDef{Flag: "max-file-size", Env: "IKQ_MAX_FILE_SIZE", Default: "300MB",
		Doc: "largest source accepted", Parse: sizeValue(&w.maxFileSize)})
	define(fs, settingDef{Flag: "source-idle-timeout", Env: "IKQ_SOURCE_IDLE_TIMEOUT", Default: "30s",
		Doc: "longest a source may send nothing before the attempt fails (transient); 0 no limit", Parse: durationValue(&w.sourceIdle)})
	define(fs, settingDef{Flag: "source-min-rate", Env: "IKQ_SOURCE_MIN_RATE", Default: "8KB",
		Doc: "slowest a source may send, per second of waiting on it, over about 30s, before the attempt fails (transient); 0 no minimum", Parse: rateValue(&w.sourceMinRate)})
	define(fs, settingDef{Flag: "source-host-share", Env: "IKQ_SOURCE_HOST_SHARE", Default: "50%",
		Doc: "share of the worker's slots that URL sources of one slow site (*.example.com, or one IP) may hold; jobs past it wait in the queue without spending an attempt; a site whose last source delivered within 1s may use every slot; 100% no limit", Parse: percentValue(&w.sourceHostShare)})
	define(fs, settingDef{Flag: "s3-endpoint", Env: "IKQ_S3_ENDPOINT",
		Doc: "base URL of an S3-compatible server for s3:// sources, e.g. http://minio:9000 (default: AWS S3; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)", Parse: httpURLValue(&w.s3Endpoint, true)})
	define(fs, settingDef{Flag: "fetch-allow", Env: "IKQ_FETCH_ALLOW",
		Doc: "host names, IPs or CIDRs, comma-separated, that URL sources and callbacks may reach despite the SSRF guard, e.g. 127.0.0.0/8 (default: private, loopback and link-local addresses refused)", Parse: func(v string) error {
			if _, err := netguard.ParseAllow(v); err != nil {
				return err
			}
			w.fetchAllow = v
			return nil
		}})
	definePublicURL(fs, &w.publicURL)
	defineWebhookSecret(fs, &w.webhookSecret)
	defineCapabilitySecret(fs, &w.capabilitySecret)
	define(fs, settingDef{Flag: "callback-secret", Env: "IKQ_CALLBACK_SECRET", Secret: true,
		Doc: "whsec_ + base64 key signing callbacks (default: none, callbacks fail)", Parse: textValue(&w.callbackSecret)})
}

// workerParts are what a worker needs besides its settings, made by the command.
type workerParts struct {
	redis      redis.UniversalClient
	registerer prometheus.Registerer
	logger     *slog.Logger
	webhookURL func(jobID string) string
	// extraAllow is what the SSRF guard allows besides IKQ_FETCH_ALLOW (ikq dev: loopback).
	extraAllow []string
}

// workerConfig maps settings to worker.Config: the one place that knows its shape.
func workerConfig(s workerSettings, p workerParts) (worker.Config, error) {
	allow, err := fetchAllowList(s.fetchAllow, p.extraAllow...)
	if err != nil {
		return worker.Config{}, err
	}
	return worker.Config{
		Redis:      p.redis,
		PrivateKey: s.privateKey,
		UploadURL:  s.uploadURL,
		APIURL:     s.apiURL,
		// URL sources and callbacks go through the SSRF guard; the Upload API
		// client does not (its URL is the operator's, not a job's).
		Sources: worker.SourceConfig{
			MaxFileSize: int64(s.maxFileSize), FileRoot: s.fileRoot, FetchAllow: allow, S3Endpoint: s.s3Endpoint,
			IdleTimeout: offIfZero(s.sourceIdle), MinRate: int64(offIfZero(s.sourceMinRate)), HostShare: s.sourceHostShare,
		},
		Concurrency:   s.concurrency,
		Queues:        s.queues,
		ShutdownGrace: s.shutdownGrace,
		RetryBase:     s.retryBase,
		SweepInterval: sweepInterval(s.sweepInterval),
		SweepGrace:    s.sweepGrace,
		Registerer:    p.registerer,
		Logger:        p.logger,
		WebhookURL:    p.webhookURL,
		// Post-transformations are reported by account events, which the API verifies
		// with IKQ_WEBHOOK_SECRET: without it nothing would report them.
		TrackTransformations: s.webhookSecret != "",
		CallbackSecret:       s.callbackSecret,
		Retention:            s.retention,
		WaitReplicas:         s.waitReplicas,
		WaitTimeout:          s.waitTimeout,
	}, nil
}

// offIfZero maps a setting where 0 means off to worker.Config's, where 0 means the
// default and a negative value off.
func offIfZero[T time.Duration | bytesize.Size](v T) T {
	if v == 0 {
		return -1
	}
	return v
}

// sweepInterval maps the setting, where 0 means never, to worker.Config's, where
// 0 means the default.
func sweepInterval(d time.Duration) time.Duration {
	if d == 0 {
		return -1
	}
	return d
}

// buildWorker makes the worker of s; extraAllow is what the SSRF guard allows besides
// IKQ_FETCH_ALLOW. close releases the worker's clients after it stops.
func buildWorker(s workerSettings, rdb redis.UniversalClient, reg prometheus.Registerer, log *slog.Logger,
	webhookURL func(jobID string) string, extraAllow ...string) (w *worker.Worker, close func(), err error) {
	cfg, err := workerConfig(s, workerParts{
		redis: rdb, registerer: reg, logger: log, webhookURL: webhookURL, extraAllow: extraAllow,
	})
	if err != nil {
		return nil, nil, err
	}
	w, err = worker.New(cfg)
	if err != nil {
		return nil, nil, workerConfigError(err)
	}
	return w, func() { _ = w.Close() }, nil
}

// workerCommand is the configuration of `ikq worker`: a worker's settings and the
// command's own.
type workerCommand struct {
	c           common
	s           workerSettings
	metricsAddr string
	apiListen   string
}

func newWorkerCommand(stderr io.Writer) (*flag.FlagSet, *workerCommand) {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	cmd := &workerCommand{}
	cmd.c.register(fs)
	cmd.s.register(fs)
	define(fs, settingDef{Flag: "metrics-listen", Env: "IKQ_METRICS_LISTEN", Default: ":9190", EmptyIsValue: true,
		Doc: "address serving this worker's /metrics and /healthz (empty: off)", Parse: addrValue(&cmd.metricsAddr, true)})
	define(fs, settingDef{Flag: "api-listen", Env: "IKQ_LISTEN", Default: ":8080",
		Doc: "the API's listen address, from which the public URL is derived when IKQ_PUBLIC_URL is not set", Parse: addrValue(&cmd.apiListen, false)})
	return fs, cmd
}

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs, cmd := newWorkerCommand(stderr)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	c, s, metricsAddr, apiListen := cmd.c, cmd.s, cmd.metricsAddr, cmd.apiListen
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	if s.privateKey == "" {
		return usageError{"an ImageKit private key is required: set IMAGEKIT_PRIVATE_KEY or -imagekit-private-key"}
	}
	rdb, rcfg, err := c.redis()
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	reg, err := metrics.NewRegistry(nil, nil, nil)
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		stop, err := serveWorkerMetrics(ctx, metricsAddr, reg, log)
		switch {
		case err == nil:
			defer stop()
		case configured(fs, "metrics-listen"):
			return err
		default:
			// Only the default port was taken (another worker on this machine):
			// uploads matter more than this worker's metrics.
			log.Warn("worker metrics are off", "err", err)
		}
	}
	capab, err := capability(ctx, rdb, s.capabilitySecret)
	if err != nil {
		return err
	}
	public := publicURL(s.publicURL, apiListen)
	if s.publicURL == "" {
		log.Warn("IKQ_PUBLIC_URL is not set: ImageKit will post extension results to " + public + ", which it can reach only if that is this API's public address")
	}
	s.retention = c.store.retention
	s.waitReplicas, s.waitTimeout = c.store.waitReplicas, c.store.waitTimeout
	w, closeWorker, err := buildWorker(s, rdb, reg, log, func(id string) string { return capab.URL(public, id) })
	if err != nil {
		return workerConfigError(err)
	}
	defer closeWorker()
	log.Info("ikq worker", "redis", rcfg.String(), "upload_url", s.uploadURL, "fetch_allow", s.fetchAllow)
	return w.Run(ctx)
}

// workerFieldNames names the variable and flag of each worker.Config field they set.
var workerFieldNames = map[string]string{
	"PrivateKey":          "IMAGEKIT_PRIVATE_KEY / -imagekit-private-key",
	"Concurrency":         "IKQ_CONCURRENCY / -concurrency",
	"ShutdownGrace":       "IKQ_SHUTDOWN_GRACE / -shutdown-grace",
	"RetryBase":           "IKQ_RETRY_BASE / -retry-base",
	"Sources.MaxFileSize": "IKQ_MAX_FILE_SIZE / -max-file-size",
	"Sources.FetchAllow":  "IKQ_FETCH_ALLOW / -fetch-allow",
	"Sources.S3Endpoint":  "IKQ_S3_ENDPOINT / -s3-endpoint",
}

// workerConfigError turns worker.New's refusal of a setting into a usage error
// naming the variable or flag; other errors pass unchanged.
func workerConfigError(err error) error {
	var ce *worker.ConfigError
	if !errors.As(err, &ce) {
		return err
	}
	if name, ok := workerFieldNames[ce.Field]; ok {
		return usageError{name + ": " + ce.Err.Error()}
	}
	return usageError{err.Error()}
}

// fetchAllowList checks IKQ_FETCH_ALLOW and returns its entries, after extra, what
// the command allows besides: the hosts URL sources and callbacks may reach despite
// the SSRF guard.
func fetchAllowList(allow string, extra ...string) ([]string, error) {
	entries, err := netguard.ParseAllow(allow)
	if err != nil {
		return nil, usageError{"IKQ_FETCH_ALLOW / -fetch-allow: " + err.Error()}
	}
	return append(extra, entries...), nil
}

// serveWorkerMetrics serves the worker's own metrics and a liveness check. Queue
// metrics come from `ikq api`: every process would report the same ones.
func serveWorkerMetrics(ctx context.Context, addr string, reg *prometheus.Registry, log *slog.Logger) (stop func(), err error) {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", metrics.Handler(reg))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w (set --metrics-listen to another address, or empty to turn it off)", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := httpserve.Serve(ctx, ln, mux, metricsLimits, log); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("worker metrics", "url", "http://"+displayAddr(ln.Addr())+"/metrics")
	return func() { cancel(); <-done }, nil
}
