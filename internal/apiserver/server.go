package apiserver

import (
	"context"
	_ "embed"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/httpauth"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/problem"
	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/internal/restapi"
	"github.com/ikq-dev/ikq/producer"
)

//go:embed openapi.json
var openAPI []byte

// Config assembles the server. Redis, RedisOpt and Producer are required.
type Config struct {
	Redis    redis.UniversalClient
	RedisOpt asynq.RedisConnOpt // for the dashboard, which opens its own connections
	Producer *producer.Client
	// Guard protects every route but health, the OpenAPI document and webhooks.
	// Default: no tokens, loopback clients only. Without tokens, the REST API also
	// requires Content-Type: application/json on bodies (API.RequireJSON).
	Guard *httpauth.Guard
	// Registry is what /metrics serves. The server adds asynq's queue metrics, the
	// jobs by status and ikq's own metrics to it; the webhook receiver and a worker
	// in the same process register theirs there too. Default: metrics.NewRegistry's
	// runtime collectors.
	Registry *prometheus.Registry
	// DashboardWritable lets the dashboard delete, run, archive and cancel tasks and
	// pause queues; by default it is read-only.
	DashboardWritable bool
	// Webhooks serves /webhooks/; nil leaves those routes unserved.
	Webhooks http.Handler
	API      restapi.Options
	Logger   *slog.Logger
}

// Server is ikq's HTTP handler.
type Server struct {
	mux       *http.ServeMux
	dashboard *asynqmon.HTTPHandler
	inspector *asynq.Inspector
	registry  *prometheus.Registry
}

// New builds the server. Close it to release the dashboard's and inspector's connections.
func New(cfg Config) (*Server, error) {
	if cfg.Redis == nil || cfg.RedisOpt == nil || cfg.Producer == nil {
		return nil, errors.New("apiserver: Config.Redis, RedisOpt and Producer are required")
	}
	if cfg.Guard == nil {
		cfg.Guard = httpauth.New(httpauth.Config{})
	}
	if cfg.Registry == nil {
		reg, err := metrics.NewRegistry(nil, nil, nil)
		if err != nil {
			return nil, err
		}
		cfg.Registry = reg
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.API.Logger == nil {
		cfg.API.Logger = cfg.Logger
	}
	if cfg.Guard.Open() {
		// A web page can post a body without Content-Type and no preflight.
		cfg.API.RequireJSON = true
	}
	s := &Server{mux: http.NewServeMux(), inspector: asynq.NewInspectorFromRedisClient(cfg.Redis)}
	store := jobstore.New(cfg.Redis, jobstore.Options{}) // counts only: retention does not matter
	reg := cfg.Registry
	_, err := metrics.RegisterServer(reg, s.inspector, metrics.NewJobStateCollector(func(ctx context.Context) (map[string]int64, error) {
		counts, err := store.Counts(ctx)
		out := make(map[string]int64, len(counts))
		for st, n := range counts {
			out[string(st)] = n
		}
		return out, err
	}))
	if err != nil {
		return nil, err
	}
	s.registry = reg
	s.dashboard = asynqmon.New(asynqmon.Options{
		RootPath:     "/monitoring",
		RedisConnOpt: cfg.RedisOpt,
		ReadOnly:     !cfg.DashboardWritable,
	})

	g := cfg.Guard
	s.mux.Handle("/v1/", g.Wrap(restapi.New(cfg.Producer, cfg.API)))
	s.mux.Handle("/monitoring/", g.WrapBrowser(s.dashboard))
	s.mux.Handle("GET /monitoring", http.RedirectHandler("/monitoring/", http.StatusMovedPermanently))
	s.mux.Handle("GET /metrics", g.Wrap(metrics.Handler(reg)))
	s.mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if err := redisurl.Ping(ctx, cfg.Redis); err != nil {
			cfg.Logger.Warn("not ready: Redis does not answer", "err", err)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "unavailable", "redis": "unreachable"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready", "redis": "ok"})
	})
	s.mux.HandleFunc("GET /openapi.json", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write(openAPI)
	})
	if cfg.Webhooks != nil {
		s.mux.Handle("/webhooks/", cfg.Webhooks)
	}
	s.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && r.Method == http.MethodGet {
			http.Redirect(w, r, "/monitoring/", http.StatusFound)
			return
		}
		problem.WriteDetails(w, problem.Details{Type: "about:blank", Title: "Not Found", Status: http.StatusNotFound,
			Detail: "No route " + r.Method + " " + r.URL.Path + "; see /openapi.json."})
	})
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Registry is the Prometheus registry /metrics serves.
func (s *Server) Registry() *prometheus.Registry { return s.registry }

// Close releases the dashboard's Redis connections. The inspector shares the
// caller's client, which the caller closes.
func (s *Server) Close() error {
	_ = s.inspector.Close() // errors only that it does not own the shared client
	return s.dashboard.Close()
}

func writeJSON(w http.ResponseWriter, status int, v any) { problem.JSON(w, status, v) }
