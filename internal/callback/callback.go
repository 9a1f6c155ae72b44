package callback

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/whsec"
	"github.com/ikq-dev/ikq/tasks"
)

// Delivery states of jobstore.Callback.Status.
const (
	StatusPending   = "pending"   // queued, not tried yet
	StatusRetrying  = "retrying"  // the last attempt failed; asynq tries again later
	StatusDelivered = "delivered" // the app answered 2xx
	StatusFailed    = "failed"    // given up: retries exhausted, no secret to sign with, or an unusable or refused URL
)

// User agents of the requests, so an app can tell them apart in its logs.
const (
	UserAgentCallback = "ikq-callback"
	UserAgentRelay    = "ikq-relay"
)

// MinSecretBytes is the shortest callback key accepted: 128 bits. Standard Webhooks
// recommends 24 to 64 bytes.
const MinSecretBytes = whsec.MinKeyBytes

var (
	// ErrSecret: IKQ_CALLBACK_SECRET is set but is not "whsec_" followed by the
	// standard base64 of a key of at least MinSecretBytes bytes.
	ErrSecret = errors.New(`callback: IKQ_CALLBACK_SECRET must be "whsec_" followed by the base64 of a key of at least 16 bytes`)
	// ErrNoSecret: a callback must be sent but IKQ_CALLBACK_SECRET is not set. ikq never
	// sends a callback unsigned.
	ErrNoSecret = errors.New("callback: " + noSecret)
)

// noSecret is the LastError recorded when no secret is configured.
const noSecret = "IKQ_CALLBACK_SECRET is not set" //nolint:gosec // G101: a message naming the variable, not a secret

// Config configures a Deliverer. The zero value of every field but Store means its
// default.
type Config struct {
	// Store holds the job records. Required.
	Store *jobstore.Store
	// Secret is IKQ_CALLBACK_SECRET: "whsec_" + the base64 of the key, as every
	// Standard Webhooks library expects it. Empty is allowed, so that a deployment
	// without callbacks needs no secret; a callback then fails for good, recorded as
	// ErrNoSecret, and is never sent unsigned.
	Secret string
	// HTTPClient sends callbacks and relays; default a client with a 30 s timeout.
	// Its CheckRedirect is replaced (on a copy): redirects are never followed, so a
	// callback cannot be bounced to an address the client's guard did not check.
	HTTPClient *http.Client
	// Metrics, if not nil, counts callback attempts by result.
	Metrics *metrics.Metrics
	Now     func() time.Time
	Logger  *slog.Logger
}

// Deliverer runs TypeCallback and TypeRelay tasks. It is safe for concurrent use.
type Deliverer struct {
	store   *jobstore.Store
	signer  *standardwebhooks.Webhook // nil: no secret configured
	client  *http.Client
	metrics *metrics.Metrics
	now     func() time.Time
	log     *slog.Logger
}

// New returns a Deliverer. It refuses a malformed Secret with ErrSecret, whose message
// never contains the secret.
func New(cfg Config) (*Deliverer, error) {
	if cfg.Store == nil {
		return nil, errors.New("callback: Config.Store is required")
	}
	d := &Deliverer{store: cfg.Store, metrics: cfg.Metrics, now: cfg.Now, log: cfg.Logger}
	if cfg.Secret != "" {
		signer, err := NewWebhook(cfg.Secret)
		if err != nil {
			return nil, err
		}
		d.signer = signer
	}
	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 30 * time.Second}
	}
	c := *client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	d.client = &c
	if d.now == nil {
		d.now = time.Now
	}
	if d.log == nil {
		d.log = slog.New(slog.DiscardHandler)
	}
	return d, nil
}

// NewWebhook checks a callback secret ("whsec_" + base64 key, see ErrSecret) and
// returns the Standard Webhooks signer and verifier keyed with it. An empty or
// malformed secret is ErrSecret.
func NewWebhook(secret string) (*standardwebhooks.Webhook, error) {
	wh, err := whsec.New(secret)
	if err != nil {
		return nil, ErrSecret
	}
	return wh, nil
}

// MessageID is the webhook-id of the callback for job jobID reaching event. Every
// attempt of one callback carries the same id, so a receiver can drop duplicates.
func MessageID(jobID, event string) string { return "cb_" + jobID + "_" + event }

// HandleCallback is the asynq handler of TypeCallback tasks: it POSTs the job record,
// as GET /v1/uploads/{id} shows it, to the job's callback URL, signed with Standard
// Webhooks headers, and records the outcome in the job's callback field.
//
// A 2xx answer is delivered. Anything else (redirects are not followed) is an error
// that asynq retries, after RetryDelay, until the task's MaxRetry; the last failure
// is recorded as failed and wraps asynq.SkipRetry. A job that is gone (expired or
// deleted) or has no callback URL needs nothing and returns nil.
func (d *Deliverer) HandleCallback(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseCallbackTask(t)
	if err != nil {
		return err
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, ok := asynq.GetMaxRetry(ctx)
	if !ok { // run outside asynq: never the last attempt
		maxRetry = retried + 1
	}
	return d.deliver(ctx, p, retried, retried >= maxRetry)
}

// deliver makes one attempt; retried is asynq's count of earlier ones, last says
// whether asynq will give up after this one.
func (d *Deliverer) deliver(ctx context.Context, p tasks.CallbackPayload, retried int, last bool) error {
	log := d.log.With("job_id", p.JobID, "attempt", retried+1, "event", p.Event, "type", tasks.TypeCallback)
	job, err := d.store.Get(ctx, p.JobID)
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		log.Info("callback dropped: the job is gone")
		return nil
	case errors.Is(err, jobstore.ErrCorrupt):
		return fmt.Errorf("callback: job %s: %w (%w)", p.JobID, err, asynq.SkipRetry)
	case err != nil:
		return fmt.Errorf("callback: job %s: %w", p.JobID, err)
	}
	target, err := d.callbackURL(ctx, job)
	if errors.Is(err, jobstore.ErrNotFound) {
		log.Info("callback dropped: the job is gone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("callback: job %s: %w", p.JobID, err)
	}
	if target == "" {
		log.Debug("no callback URL")
		return nil
	}
	log = log.With("url", tasks.RedactURL(target))

	if d.signer == nil {
		log.Error("callback not sent: IKQ_CALLBACK_SECRET is not set")
		d.metrics.Callback(metrics.CallbackFailed)
		rerr := d.record(ctx, p.JobID, target, func(c *jobstore.Callback) {
			c.Status, c.LastError = StatusFailed, noSecret
		})
		return errors.Join(fmt.Errorf("callback: job %s: %w (%w)", p.JobID, ErrNoSecret, asynq.SkipRetry), rerr)
	}

	body, err := json.Marshal(job)
	if err != nil {
		return fmt.Errorf("callback: encode job %s: %w (%w)", p.JobID, err, asynq.SkipRetry)
	}
	msgID := MessageID(job.ID, p.Event)
	ts := d.now()
	sig, err := d.signer.Sign(msgID, ts, body)
	if err != nil {
		return fmt.Errorf("callback: sign job %s: %w", p.JobID, err)
	}
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgentCallback)
	h.Set(standardwebhooks.HeaderWebhookID, msgID)
	h.Set(standardwebhooks.HeaderWebhookTimestamp, fmt.Sprint(ts.Unix()))
	h.Set(standardwebhooks.HeaderWebhookSignature, sig)

	sendErr := d.send(ctx, target, body, h)
	if sendErr == nil {
		at := d.now().UTC()
		log.Info("callback delivered")
		d.metrics.Callback(metrics.CallbackDelivered)
		if err := d.record(ctx, p.JobID, target, func(c *jobstore.Callback) {
			c.Status, c.Attempts, c.LastError, c.DeliveredAt = StatusDelivered, c.Attempts+1, "", &at
		}); err != nil {
			// The app has it; failing here would only deliver it again.
			log.Warn("callback delivered but not recorded", "err", err)
		}
		return nil
	}

	var de *DeliveryError
	permanent := errors.As(sendErr, &de) && de.permanent
	status := StatusRetrying
	if last || permanent {
		status = StatusFailed
	}
	rerr := d.record(ctx, p.JobID, target, func(c *jobstore.Callback) {
		c.Status, c.Attempts, c.LastError = status, c.Attempts+1, sendErr.Error()
	})
	err = fmt.Errorf("callback: job %s: %w", p.JobID, sendErr)
	if status == StatusFailed {
		log.Error("callback failed for good", "err", sendErr)
		d.metrics.Callback(metrics.CallbackFailed)
		err = fmt.Errorf("%w (%w)", err, asynq.SkipRetry)
	} else {
		log.Warn("callback failed; will retry", "err", sendErr)
		d.metrics.Callback(metrics.CallbackRetrying)
	}
	return errors.Join(err, rerr)
}

// callbackURL is where the job's record goes: the callbackUrl of the job spec, which
// (unlike the record's copy, redacted) keeps the app's own tokens; else the record's.
func (d *Deliverer) callbackURL(ctx context.Context, job *jobstore.Job) (string, error) {
	raw, err := d.store.Spec(ctx, job.ID)
	if err != nil {
		return "", err
	}
	if spec, err := tasks.Decode(raw); err == nil && spec.CallbackURL != "" {
		return spec.CallbackURL, nil
	}
	if job.Callback != nil {
		return job.Callback.URL, nil
	}
	return "", nil
}

// record edits the job's callback state. A job that expired meanwhile is no error.
func (d *Deliverer) record(ctx context.Context, id, target string, edit func(*jobstore.Callback)) error {
	_, err := d.store.Update(context.WithoutCancel(ctx), id, func(j *jobstore.Job) error {
		if j.Callback == nil {
			j.Callback = &jobstore.Callback{URL: tasks.RedactURL(target), Status: StatusPending}
		}
		edit(j.Callback)
		return nil
	})
	if err != nil && !errors.Is(err, jobstore.ErrNotFound) {
		return fmt.Errorf("callback: record delivery of job %s: %w", id, err)
	}
	return nil
}
