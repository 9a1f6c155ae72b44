// Command webapp is a small web app that hands its uploads to ikq: it enqueues an
// upload, lists the jobs, and verifies the callback ikq posts when a job ends. It
// imports only ikq's public packages producer and tasks, which link no server
// machinery.
//
//	REDIS_URL=redis://127.0.0.1:6379/0 IKQ_CALLBACK_SECRET=whsec_… go run ./webapp
//	curl -X POST localhost:3000/photos -d url=https://example.com/cat.jpg
//	curl localhost:3000/photos?status=completed
//
// Something must run the jobs: `ikq worker`, `ikq dev`, or ../embedworker.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"path"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		log.Error("webapp stopped", "err", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	opts, err := redis.ParseURL(envOr("REDIS_URL", "redis://127.0.0.1:6379/0"))
	if err != nil {
		return err
	}
	rdb := redis.NewClient(opts)
	defer closeLogged(log, "redis", rdb)
	p, err := producer.New(producer.Config{Redis: rdb, Logger: log})
	if err != nil {
		return err
	}
	defer closeLogged(log, "producer", p)

	a := &app{
		p:           p,
		log:         log,
		publicURL:   envOr("PUBLIC_URL", "http://127.0.0.1:3000"),
		secret:      os.Getenv("IKQ_CALLBACK_SECRET"),
		seenMessage: map[string]bool{},
	}
	srv := &http.Server{Addr: envOr("LISTEN", "127.0.0.1:3000"), Handler: a.routes(), ReadHeaderTimeout: 5 * time.Second}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	log.Info("webapp listening", "addr", srv.Addr)
	if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

type app struct {
	p         *producer.Client
	log       *slog.Logger
	publicURL string // where ikq reaches this app's callback route
	secret    string // IKQ_CALLBACK_SECRET, shared with the workers

	// seenMessage drops repeated deliveries of one callback (a real app keeps
	// this in its database).
	mu          sync.Mutex
	seenMessage map[string]bool
}

// firstDelivery records the callback's webhook-id and reports whether it is new.
func (a *app) firstDelivery(id string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.seenMessage[id] {
		return false
	}
	a.seenMessage[id] = true
	return true
}

func (a *app) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /photos", a.upload)
	mux.HandleFunc("GET /photos", a.list)
	mux.HandleFunc("GET /photos/{id}", a.get)
	mux.HandleFunc("POST /ikq/callback", a.callback)
	return mux
}

// POST /photos url=…: queue the upload and answer at once with the job.
func (a *app) upload(w http.ResponseWriter, r *http.Request) {
	src := r.FormValue("url")
	u := tasks.Upload{
		File:           src,
		FileName:       path.Base(src),
		Folder:         "/photos",
		Tags:           tasks.StringList{"webapp"},
		IdempotencyKey: r.Header.Get("Idempotency-Key"), // a retried form post makes no second job
	}
	if a.secret != "" {
		u.CallbackURL = a.publicURL + "/ikq/callback"
	}
	job, err := a.p.Enqueue(r.Context(), u)
	var invalid *tasks.ValidationError
	switch {
	case errors.As(err, &invalid):
		writeJSON(w, http.StatusBadRequest, invalid.Problems) // each with its field
		return
	case err != nil:
		a.log.Error("enqueue failed", "err", err)
		http.Error(w, "try again later", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, http.StatusAccepted, job)
}

// GET /photos?status=&cursor=: a page of jobs, newest first.
func (a *app) list(w http.ResponseWriter, r *http.Request) {
	limit, _ := strconv.Atoi(r.FormValue("limit"))
	jobs, next, err := a.p.List(r.Context(), tasks.ListOptions{
		Status: tasks.Status(r.FormValue("status")),
		Limit:  limit,
		Cursor: r.FormValue("cursor"),
	})
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"jobs": jobs, "next": next})
}

// GET /photos/{id}: one job.
func (a *app) get(w http.ResponseWriter, r *http.Request) {
	job, err := a.p.Get(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, producer.ErrNotFound):
		http.NotFound(w, r)
	case err != nil:
		http.Error(w, "try again later", http.StatusServiceUnavailable)
	default:
		writeJSON(w, http.StatusOK, job)
	}
}

// POST /ikq/callback: ikq posts the job record here when the job ends, signed with
// Standard Webhooks headers. Answer 2xx once handled; anything else is retried.
func (a *app) callback(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	job, err := producer.VerifyCallback(a.secret, r.Header, body)
	if err != nil {
		a.log.Warn("callback refused", "err", err)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	if !a.firstDelivery(r.Header.Get("webhook-id")) {
		w.WriteHeader(http.StatusNoContent) // a repeat of one already handled
		return
	}
	switch job.Status {
	case tasks.StatusCompleted:
		var res struct {
			URL string `json:"url"`
		}
		_ = json.Unmarshal(job.Result, &res)
		a.log.Info("photo uploaded", "job_id", job.ID, "url", res.URL)
	case tasks.StatusFailed:
		a.log.Warn("photo upload failed", "job_id", job.ID, "code", job.Error.Code, "message", job.Error.Message)
	default:
		a.log.Info("photo upload ended", "job_id", job.ID, "status", job.Status)
	}
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
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
