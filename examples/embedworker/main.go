// Command embedworker runs an ikq worker inside an app's own binary, with the
// ImageKit webhook receiver and Prometheus metrics on its HTTP port. It imports
// only ikq's public packages worker and webhook.
//
//	REDIS_URL=redis://127.0.0.1:6379/0 IMAGEKIT_PRIVATE_KEY=private_… \
//	PUBLIC_URL=https://uploads.example.com go run ./embedworker
//
// Point IMAGEKIT_UPLOAD_URL and IMAGEKIT_API_URL at `ikq emulator` to try it offline.
package main

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/webhook"
	"github.com/ikq-dev/ikq/worker"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("embedworker stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	opts, err := redis.ParseURL(envOr("REDIS_URL", "redis://127.0.0.1:6379/0"))
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer closeLogged(log, "redis", rdb)
	reg := prometheus.NewRegistry()

	// ImageKit posts extension results to a per-job URL that carries a token; every
	// ikq process shares the key, kept in Redis unless one is configured.
	key, err := webhook.LoadOrCreateSecret(ctx, rdb, os.Getenv("IKQ_WEBHOOK_CAPABILITY_SECRET"))
	if err != nil {
		return err
	}
	capability, err := webhook.NewCapability(key)
	if err != nil {
		return err
	}
	hooks, err := webhook.NewHandler(webhook.Config{
		Redis:         rdb,
		Capability:    capability,
		AccountSecret: os.Getenv("IKQ_WEBHOOK_SECRET"),
		Registerer:    reg,
		Logger:        log.With("component", "webhook"),
	})
	if err != nil {
		return err
	}

	publicURL := strings.TrimRight(envOr("PUBLIC_URL", "http://127.0.0.1:8090"), "/")
	w, err := worker.New(worker.Config{
		Redis:      rdb,
		PrivateKey: os.Getenv("IMAGEKIT_PRIVATE_KEY"),
		UploadURL:  os.Getenv("IMAGEKIT_UPLOAD_URL"), // "" is ImageKit's
		APIURL:     os.Getenv("IMAGEKIT_API_URL"),
		Sources: worker.SourceConfig{
			MaxFileSize: 100 << 20,
			FileRoot:    os.Getenv("FILE_ROOT"), // "" refuses file:// sources
			// Hosts that sources and callbacks may reach although private, e.g.
			// "127.0.0.0/8" to try it on one machine.
			FetchAllow: strings.FieldsFunc(os.Getenv("FETCH_ALLOW"), func(r rune) bool { return r == ',' }),
		},
		Concurrency:    8,
		Queues:         map[string]int{"critical": 6, "default": 3, "low": 1},
		ShutdownGrace:  time.Minute,
		Registerer:     reg,
		WebhookURL:     func(jobID string) string { return capability.URL(publicURL, jobID) },
		CallbackSecret: os.Getenv("IKQ_CALLBACK_SECRET"),
		Logger:         log.With("component", "worker"),
	})
	if err != nil {
		return err
	}
	defer closeLogged(log, "worker", w)

	mux := http.NewServeMux()
	mux.Handle("/webhooks/", hooks)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	srv := &http.Server{Addr: envOr("LISTEN", "127.0.0.1:8090"), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "err", err)
			stop()
		}
	}()
	defer func() {
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("embedworker running", "listen", srv.Addr, "public_url", publicURL)
	return w.Run(ctx) // until SIGTERM; running uploads get ShutdownGrace to finish
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// closeLogged closes c as run returns, and logs a failure: there is nothing else
// left to do with it then.
func closeLogged(log *slog.Logger, what string, c io.Closer) {
	if err := c.Close(); err != nil {
		log.Warn("closing "+what, "err", err)
	}
}
