package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"time"

	"github.com/hibiken/asynq"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
)

// Routes the handler serves.
const (
	AccountPath   = "/webhooks/imagekit"      // signed account events
	ExtensionPath = "/webhooks/imagekit/{id}" // per-job extension callbacks, ?token=
)

// DefaultMaxBody is the largest webhook body read. A Get-File-Details object with
// many AITags and custom metadata stays well under it.
const DefaultMaxBody = 1 << 20

// SeenTTL is how long an account event's id is remembered: ImageKit retries a
// delivery for up to 24 hours, so twice that.
const SeenTTL = 48 * time.Hour

// Config configures the webhook receiver. The zero value of each optional field
// means its default.
type Config struct {
	// Redis holds the job records the webhooks complete (the Redis of the producers
	// and workers), and remembers account event ids for SeenTTL, so a redelivered
	// event is answered "duplicate" without touching the job. Required.
	Redis redis.UniversalClient
	// Capability checks the tokens of per-job callback URLs: the same as the
	// workers' (see LoadOrCreateSecret). Required.
	Capability *Capability
	// AccountSecret is ImageKit's account webhook secret (IKQ_WEBHOOK_SECRET). Empty:
	// the account route answers 503 "not configured" and changes nothing.
	AccountSecret string
	// WaitReplicas, when above 0, makes every write that records an outcome (a job
	// uploaded or ended) wait until this many Redis replicas have it, for at most
	// WaitTimeout (default 1s), and write again otherwise: a failover cannot take an
	// outcome back. See producer.Config.WaitReplicas.
	WaitReplicas int
	WaitTimeout  time.Duration
	// Retention keeps the records of jobs the webhooks finish this long; default 7
	// days, as the producer's and the worker's.
	Retention time.Duration
	// Tolerance is how far a signed timestamp may be from now. Default 5 minutes.
	Tolerance time.Duration
	// MaxBody is the largest body read; larger ones are answered 413. Default 1 MiB.
	MaxBody int64
	// Registerer, if not nil, gets ikq_webhooks_total, webhooks by kind and result.
	// A worker given the same Registerer shares ikq's other metrics with it.
	Registerer prometheus.Registerer
	// Logger receives a line per webhook refused or failed. Default: discard.
	Logger *slog.Logger
	// Now is the clock signatures are checked against. Default time.Now.
	Now func() time.Time
}

func (c Config) validate() (Config, error) {
	if c.Capability == nil {
		return c, errors.New("webhook: Config.Capability is required")
	}
	if c.AccountSecret != "" && c.Redis == nil {
		return c, errors.New("webhook: Config.Redis is required with Config.AccountSecret, to remember event ids")
	}
	if c.Tolerance < 0 {
		return c, errors.New("webhook: Config.Tolerance must not be negative")
	}
	if c.Tolerance == 0 {
		c.Tolerance = DefaultTolerance
	}
	if c.MaxBody < 0 {
		return c, errors.New("webhook: Config.MaxBody must not be negative")
	}
	if c.MaxBody == 0 {
		c.MaxBody = DefaultMaxBody
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c, nil
}

// parts are what NewHandler builds from Config; tests give fakes instead.
type parts struct {
	// merger records the statuses webhooks report.
	merger completion.Merger
	// relay, if set, passes each per-job callback that was applied (or was a
	// duplicate) on to the app's own webhookUrl. Its errors are logged; ImageKit
	// still gets its 200.
	relay   func(ctx context.Context, jobID string, body []byte) error
	metrics *metrics.Metrics
}

type handler struct {
	cfg Config
	parts
	mux *http.ServeMux
}

// NewHandler returns the webhook receiver: POST /webhooks/imagekit/{id}?token= for
// per-job extension callbacks, POST /webhooks/imagekit for signed account events.
// Every other path answers 404 and every other method 405, as problem+json.
func NewHandler(cfg Config) (http.Handler, error) {
	if cfg.Redis == nil {
		return nil, errors.New("webhook: Config.Redis is required")
	}
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	m, err := metrics.For(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	tracker := completion.New(completion.Config{
		Store: jobstore.New(cfg.Redis, jobstore.Options{Retention: cfg.Retention, Now: cfg.Now,
			WaitReplicas: cfg.WaitReplicas, WaitTimeout: cfg.WaitTimeout}),
		Redis: cfg.Redis, Queue: asynq.NewClientFromRedisClient(cfg.Redis),
		Now: cfg.Now, Logger: cfg.Logger,
	})
	return newHandler(cfg, parts{merger: tracker, relay: tracker.Relay, metrics: m})
}

func newHandler(cfg Config, p parts) (http.Handler, error) {
	if p.merger == nil {
		return nil, errors.New("webhook: a Merger is required")
	}
	cfg, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	h := &handler{cfg: cfg, parts: p, mux: http.NewServeMux()}
	// Methods are checked in the handlers, so that a wrong one gets a problem+json 405.
	h.mux.HandleFunc(ExtensionPath, postOnly(h.extension))
	h.mux.HandleFunc(AccountPath, postOnly(h.account))
	h.mux.HandleFunc("/", notFound)
	return h, nil
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// ServeMux would redirect a path with "//", "." or ".." segments: no route of
	// ours has one, and a webhook sender does not follow redirects anyway.
	if p := r.URL.Path; p == "" || path.Clean(p) != p {
		notFound(w, r)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeProblem(w, http.StatusNotFound, "not-found", "Not found",
		"No webhook route "+r.URL.Path+"; ImageKit posts to /webhooks/imagekit and /webhooks/imagekit/{id}?token=.")
}

func postOnly(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			writeProblem(w, http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed",
				"Webhooks are delivered with POST.")
			return
		}
		next(w, r)
	}
}

// extension handles a per-job extension callback.
func (h *handler) extension(w http.ResponseWriter, r *http.Request) {
	const kind = metrics.WebhookExtension
	jobID := r.PathValue("id")
	log := h.cfg.Logger.With("job_id", jobID)
	// The token is the only proof this request comes from the upload ikq made: check
	// it before reading anything else.
	if !h.cfg.Capability.Valid(jobID, r.URL.Query().Get("token")) {
		h.metrics.Webhook(kind, metrics.WebhookRejected)
		log.Warn("webhook refused: bad or missing capability token", "remote", r.RemoteAddr)
		writeProblem(w, http.StatusUnauthorized, "bad-token", "Bad token",
			"The token in the URL is missing or not this job's.")
		return
	}
	body, ok := h.readBody(w, r, kind)
	if !ok {
		return
	}
	ev, err := ParseExtensionEvent(body)
	if err != nil {
		h.metrics.Webhook(kind, metrics.WebhookInvalid)
		log.Warn("webhook refused: invalid extension callback", "err", err)
		writeProblem(w, http.StatusBadRequest, "invalid-event", "Invalid event", sentence(err.Error()))
		return
	}
	changed, err := h.merger.ApplyItem(r.Context(), jobID, ev.Service, ev.Status)
	switch {
	case unknownJob(err):
		// The job expired or never was: a 200 stops ImageKit retrying for 24 hours.
		h.metrics.Webhook(kind, metrics.WebhookInvalid)
		log.Info("extension callback for no known job ignored", "item", ev.Service, "status", ev.Status)
		writeStatus(w, "ignored")
		return
	case err != nil:
		log.Error("applying extension callback", "item", ev.Service, "status", ev.Status, "err", err)
		writeUnavailable(w)
		return
	}
	result := h.result(kind, changed)
	log.Debug("extension callback", "item", ev.Service, "status", ev.Status, "result", result)
	if h.relay != nil {
		if err := h.relay(r.Context(), jobID, body); err != nil {
			log.Error("relaying extension callback to the app", "item", ev.Service, "err", err)
		}
	}
	writeStatus(w, result)
}

// account handles a signed account event.
func (h *handler) account(w http.ResponseWriter, r *http.Request) {
	const kind = metrics.WebhookAccount
	log := h.cfg.Logger
	if h.cfg.AccountSecret == "" {
		writeProblem(w, http.StatusServiceUnavailable, "not-configured", "Not configured",
			"Account webhooks are not configured on this ikq: set IKQ_WEBHOOK_SECRET to ImageKit's webhook secret.")
		return
	}
	_, standard := r.Header[http.CanonicalHeaderKey(HeaderWebhookSignature)]
	_, legacy := r.Header[http.CanonicalHeaderKey(HeaderLegacySignature)]
	if !standard && !legacy {
		h.metrics.Webhook(kind, metrics.WebhookRejected)
		log.Warn("account webhook refused: no signature", "remote", r.RemoteAddr)
		writeProblem(w, http.StatusUnauthorized, "bad-signature", "Bad signature",
			"Account webhooks must be signed: webhook-signature or x-ik-signature.")
		return
	}
	body, ok := h.readBody(w, r, kind)
	if !ok {
		return
	}
	now := h.cfg.Now()
	var err error
	if standard {
		err = VerifyStandard(h.cfg.AccountSecret, r.Header, body, now, h.cfg.Tolerance)
	}
	if err == nil && legacy {
		err = VerifyLegacy(h.cfg.AccountSecret, r.Header.Get(HeaderLegacySignature), body, now, h.cfg.Tolerance)
	}
	if err != nil {
		h.metrics.Webhook(kind, metrics.WebhookRejected)
		log.Warn("account webhook refused", "err", err, "remote", r.RemoteAddr)
		writeProblem(w, http.StatusUnauthorized, "bad-signature", "Bad signature", sentence(err.Error()))
		return
	}

	ev, err := ParseAccountEvent(body)
	if err != nil {
		h.metrics.Webhook(kind, metrics.WebhookInvalid)
		log.Warn("account webhook refused: invalid event", "err", err)
		writeProblem(w, http.StatusBadRequest, "invalid-event", "Invalid event", sentence(err.Error()))
		return
	}
	log = log.With("event_type", ev.Type, "event_id", ev.ID)
	if ev.Item == "" || ev.FileID == "" {
		// Not about one of ikq's items, or about no file ikq can find a job by.
		h.metrics.Webhook(kind, metrics.WebhookInvalid)
		log.Debug("account event ignored", "file_id", ev.FileID, "item", ev.Item)
		writeStatus(w, "ignored")
		return
	}

	// webhook-id is signed; without it, the body's id is (legacy signature).
	id := ev.ID
	if standard {
		id = r.Header.Get(HeaderWebhookID)
	}
	var seen string
	if id != "" {
		seen = seenKey(id)
		first, err := h.cfg.Redis.SetNX(r.Context(), seen, "1", SeenTTL).Result()
		if err != nil {
			log.Error("remembering account event id", "err", err)
			writeUnavailable(w)
			return
		}
		if !first {
			h.metrics.Webhook(kind, metrics.WebhookDuplicate)
			writeStatus(w, "duplicate")
			return
		}
	}
	changed, err := h.merger.ApplyForFile(r.Context(), ev.FileID, ev.Item, ev.Status)
	switch {
	case unknownJob(err):
		h.metrics.Webhook(kind, metrics.WebhookInvalid)
		log.Info("account event for no known job ignored", "file_id", ev.FileID, "item", ev.Item)
		writeStatus(w, "ignored")
		return
	case err != nil:
		// Forget the id, so that ImageKit's retry is applied rather than deduplicated.
		if seen != "" {
			ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
			if derr := h.cfg.Redis.Del(ctx, seen).Err(); derr != nil {
				log.Error("forgetting account event id after a failed apply", "err", derr)
			}
			cancel()
		}
		log.Error("applying account event", "file_id", ev.FileID, "item", ev.Item, "err", err)
		writeUnavailable(w)
		return
	}
	result := h.result(kind, changed)
	log.Debug("account event", "file_id", ev.FileID, "item", ev.Item, "status", ev.Status, "result", result)
	writeStatus(w, result)
}

// result counts an applied webhook and names its result.
func (h *handler) result(kind string, changed bool) string {
	if changed {
		h.metrics.Webhook(kind, metrics.WebhookApplied)
		return "applied"
	}
	h.metrics.Webhook(kind, metrics.WebhookDuplicate)
	return "duplicate"
}

// readBody reads the body up to MaxBody, answering 413 or 400 itself when it cannot.
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, kind string) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBody))
	if err == nil {
		return body, true
	}
	h.metrics.Webhook(kind, metrics.WebhookInvalid)
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		writeProblem(w, http.StatusRequestEntityTooLarge, "body-too-large", "Body too large",
			fmt.Sprintf("The body is larger than %d bytes.", h.cfg.MaxBody))
		return nil, false
	}
	writeProblem(w, http.StatusBadRequest, "unreadable-body", "Unreadable body", "The body could not be read.")
	return nil, false
}

// unknownJob reports whether err says the job is gone (expired, deleted) or never
// was. The Tracker's ErrUnknownJob errors also match jobstore.ErrNotFound; either
// will do, so that other Mergers need only the job store's sentinel.
func unknownJob(err error) bool {
	return err != nil && (errors.Is(err, completion.ErrUnknownJob) || errors.Is(err, jobstore.ErrNotFound))
}

// seenKey is the Redis key remembering an account event id. Ids are hashed so that
// a key stays short whatever the id.
func seenKey(id string) string {
	sum := sha256.Sum256([]byte(id))
	return jobstore.SpreadKey("webhook-seen", hex.EncodeToString(sum[:16]))
}
