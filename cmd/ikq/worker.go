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
	"os"
	"time"

	"github.com/ikq-dev/ikq/internal/bytesize"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/netguard"
	"github.com/ikq-dev/ikq/worker"
	"github.com/prometheus/client_golang/prometheus"
)

const defaultUploadURL = worker.DefaultUploadURL

func runWorker(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	fs.SetOutput(stderr) // where -h prints
	var (
		c           common
		privateKey  string
		uploadURL   string
		apiURL      string
		concurrency int
		queues      string
		grace       time.Duration
		retryBase   time.Duration
		fileRoot    string
		maxSize     = bytesize.Size(300 << 20)
		metricsAddr string
		public      string
		fetchAllow  string
		s3Endpoint  string
	)
	c.register(fs)
	fs.StringVar(&privateKey, "imagekit-private-key", "", "ImageKit private API key (IMAGEKIT_PRIVATE_KEY)")
	fs.StringVar(&apiURL, "imagekit-api-url", envOr("IMAGEKIT_API_URL", "https://api.imagekit.io"), "files API base, to check re-runs of overwriteFile=false jobs (IMAGEKIT_API_URL)")
	fs.StringVar(&uploadURL, "imagekit-upload-url", envOr("IMAGEKIT_UPLOAD_URL", defaultUploadURL), "Upload API endpoint (IMAGEKIT_UPLOAD_URL)")
	fs.IntVar(&concurrency, "concurrency", envInt("IKQ_CONCURRENCY", 32), "uploads in flight (IKQ_CONCURRENCY)")
	fs.StringVar(&queues, "queues", envOr("IKQ_QUEUES", "critical=6,default=3,low=1"), "queue weights (IKQ_QUEUES)")
	fs.DurationVar(&grace, "shutdown-grace", 30*time.Second, "time running uploads get to finish on SIGTERM")
	fs.DurationVar(&retryBase, "retry-base", 5*time.Second, "wait before retrying an upload that failed transiently; it doubles with each attempt, with jitter, up to 10 minutes")
	fs.StringVar(&fileRoot, "file-root", envOr("IKQ_FILE_ROOT", ""), "directory under which file:// sources are allowed (IKQ_FILE_ROOT; default: file:// refused)")
	fs.Var(&maxSize, "max-file-size", "largest source accepted (IKQ_MAX_FILE_SIZE)")
	fs.StringVar(&s3Endpoint, "s3-endpoint", envOr("IKQ_S3_ENDPOINT", ""), "base URL of an S3-compatible server for s3:// sources, e.g. http://minio:9000 (IKQ_S3_ENDPOINT; default: AWS S3; credentials from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
	fs.StringVar(&public, "public-url", envOr("IKQ_PUBLIC_URL", ""), "where ImageKit reaches ikq's webhook receiver, for extension results (IKQ_PUBLIC_URL; default: from IKQ_LISTEN)")
	fs.StringVar(&fetchAllow, "fetch-allow", envOr("IKQ_FETCH_ALLOW", ""), "host names, IPs or CIDRs, comma-separated, that URL sources and callbacks may reach despite the SSRF guard, e.g. 127.0.0.0/8 (IKQ_FETCH_ALLOW; default: private, loopback and link-local addresses refused)")
	fs.StringVar(&metricsAddr, "metrics-listen", envOr("IKQ_METRICS_LISTEN", ":9190"), "address serving this worker's /metrics and /healthz (IKQ_METRICS_LISTEN; empty: off)")
	if v := envOr("IKQ_MAX_FILE_SIZE", ""); v != "" {
		if err := maxSize.Set(v); err != nil {
			return usageError{"IKQ_MAX_FILE_SIZE: " + err.Error()}
		}
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	log, err := c.logger(stderr)
	if err != nil {
		return err
	}
	key := secret(privateKey, "IMAGEKIT_PRIVATE_KEY")
	if key == "" {
		return usageError{"an ImageKit private key is required: set IMAGEKIT_PRIVATE_KEY or -imagekit-private-key"}
	}
	weights, err := parseQueues(queues)
	if err != nil {
		return usageError{"-queues: " + err.Error()}
	}
	allow, err := fetchAllowList(fetchAllow)
	if err != nil {
		return err
	}
	rdb, rcfg, err := c.redis()
	if err != nil {
		return err
	}
	defer rdb.Close()
	reg, err := metrics.NewRegistry(nil, nil, nil)
	if err != nil {
		return err
	}
	if metricsAddr != "" {
		stop, err := serveWorkerMetrics(ctx, metricsAddr, reg, log)
		switch {
		case err == nil:
			defer stop()
		case isSet(fs, "metrics-listen") || os.Getenv("IKQ_METRICS_LISTEN") != "":
			return err
		default:
			// Only the default port was taken (another worker on this machine):
			// uploads matter more than this worker's metrics.
			log.Warn("worker metrics are off", "err", err)
		}
	}
	capab, err := capability(ctx, rdb)
	if err != nil {
		return err
	}
	public = publicURL(public, envOr("IKQ_LISTEN", ":8080"))
	if os.Getenv("IKQ_PUBLIC_URL") == "" && !isSet(fs, "public-url") {
		log.Warn("IKQ_PUBLIC_URL is not set: ImageKit will post extension results to " + public + ", which it can reach only if that is this API's public address")
	}
	w, err := worker.New(worker.Config{
		Redis:      rdb,
		PrivateKey: key,
		UploadURL:  uploadURL,
		APIURL:     apiURL,
		Sources: worker.SourceConfig{
			MaxFileSize: int64(maxSize), FileRoot: fileRoot, FetchAllow: allow, S3Endpoint: s3Endpoint,
		},
		Concurrency:   concurrency,
		Queues:        weights,
		ShutdownGrace: grace,
		RetryBase:     retryBase,
		Registerer:    reg,
		Logger:        log,
		WebhookURL:    func(id string) string { return capab.URL(public, id) },
		// Post-transformations are reported by account events, which the API verifies
		// with IKQ_WEBHOOK_SECRET: without it nothing would report them.
		TrackTransformations: os.Getenv("IKQ_WEBHOOK_SECRET") != "",
		CallbackSecret:       os.Getenv("IKQ_CALLBACK_SECRET"),
	})
	if err != nil {
		return workerConfigError(err)
	}
	defer w.Close()
	log.Info("ikq worker", "redis", rcfg.String(), "upload_url", uploadURL, "fetch_allow", fetchAllow)
	return w.Run(ctx)
}

// workerSettings names the variable and flag of each worker.Config field they set.
var workerSettings = map[string]string{
	"PrivateKey":          "IMAGEKIT_PRIVATE_KEY / -imagekit-private-key",
	"Concurrency":         "IKQ_CONCURRENCY / -concurrency",
	"ShutdownGrace":       "-shutdown-grace",
	"RetryBase":           "-retry-base",
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
	if name, ok := workerSettings[ce.Field]; ok {
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
		io.WriteString(w, `{"status":"ok"}`+"\n")
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("metrics: %w (set --metrics-listen to another address, or empty to turn it off)", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := serve(ctx, ln, mux, log); err != nil {
			log.Error("metrics server stopped", "err", err)
		}
	}()
	log.Info("worker metrics", "url", "http://"+displayAddr(ln.Addr())+"/metrics")
	return func() { cancel(); <-done }, nil
}
