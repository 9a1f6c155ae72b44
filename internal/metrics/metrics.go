package metrics

import (
	"errors"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

const namespace = "ikq"

// Outcomes of an upload attempt, the outcome label of ikq_uploads_total and
// ikq_upload_duration_seconds. Completed and Uploaded are the job states the attempt
// ended in; the others name how it failed.
const (
	OutcomeCompleted = "completed" // stored, nothing pending
	OutcomeUploaded  = "uploaded"  // stored, extensions or a pre-transformation pending
	OutcomeRetrying  = "retrying"  // transient failure: asynq runs it again, using an attempt
	OutcomeThrottled = "throttled" // rate-limited: runs again without using an attempt
	OutcomeFailed    = "failed"    // permanent failure, or attempts used up
	OutcomeCanceled  = "canceled"  // the producer canceled the job meanwhile
)

// Outcomes of opening a source, the outcome label of ikq_source_fetch_duration_seconds.
const (
	FetchOK    = "ok"
	FetchError = "error"
)

// Webhook kinds and results, the labels of ikq_webhooks_total.
const (
	WebhookExtension = "extension" // a per-job extension callback
	WebhookAccount   = "account"   // a signed account-level event

	WebhookApplied   = "applied"   // merged into a job
	WebhookDuplicate = "duplicate" // already known: changed nothing
	WebhookRejected  = "rejected"  // bad token or signature
	WebhookInvalid   = "invalid"   // unparseable, or for no known job
)

// Callback results, the result label of ikq_callbacks_total.
const (
	CallbackDelivered = "delivered" // the app answered 2xx
	CallbackRetrying  = "retrying"  // failed; tried again later
	CallbackFailed    = "failed"    // failed for good
)

// Buckets in seconds. An upload takes from tens of milliseconds (a small image to a
// nearby API) to half an hour (a 300 MB video over a slow link); opening a source is
// bounded by the 8-second header timeout, times the retries within an attempt.
var (
	uploadBuckets = []float64{0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1200, 1800}
	fetchBuckets  = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 8, 15, 30, 60}
)

// Metrics are ikq's own Prometheus metrics. Make one per process with New, register
// it once, and pass it to the worker, the API and the webhook receiver.
//
// Every method is safe for concurrent use, and a nil *Metrics records nothing, so
// a package can take an optional *Metrics and call it unconditionally.
type Metrics struct {
	uploads        *prometheus.CounterVec
	uploadDuration *prometheus.HistogramVec
	uploadedBytes  prometheus.Counter
	sourceFetch    *prometheus.HistogramVec
	webhooks       *prometheus.CounterVec
	callbacks      *prometheus.CounterVec
}

// New returns ikq's metrics, not yet registered.
func New() *Metrics {
	m := &Metrics{
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "uploads_total",
			Help:      "Upload attempts that ended, by queue and outcome (completed, uploaded, retrying, throttled, failed, canceled).",
		}, []string{"queue", "outcome"}),
		uploadDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "upload_duration_seconds",
			Help:      "Duration of upload attempts, from the worker taking the task to its outcome, by queue and outcome.",
			Buckets:   uploadBuckets,
		}, []string{"queue", "outcome"}),
		uploadedBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "uploaded_bytes_total",
			Help:      "Bytes of the files ImageKit stored, as its upload answers report their sizes.",
		}),
		sourceFetch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace,
			Name:      "source_fetch_duration_seconds",
			Help:      "Time to open a job's source (to its response headers, retries included), by source scheme and outcome (ok, error).",
			Buckets:   fetchBuckets,
		}, []string{"scheme", "outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "webhooks_total",
			Help:      "ImageKit webhooks received, by kind (extension, account) and result (applied, duplicate, rejected, invalid).",
		}, []string{"kind", "result"}),
		callbacks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace,
			Name:      "callbacks_total",
			Help:      "Deliveries of job records to apps' callback URLs, by result (delivered, retrying, failed).",
		}, []string{"result"}),
	}
	// The label values of these are known: export them at zero from the start, so
	// that rate() and alerts see a series before its first event.
	for _, kind := range []string{WebhookExtension, WebhookAccount} {
		for _, result := range []string{WebhookApplied, WebhookDuplicate, WebhookRejected, WebhookInvalid} {
			m.webhooks.WithLabelValues(kind, result)
		}
	}
	for _, result := range []string{CallbackDelivered, CallbackRetrying, CallbackFailed} {
		m.callbacks.WithLabelValues(result)
	}
	return m
}

func (m *Metrics) collectors() []prometheus.Collector {
	return []prometheus.Collector{m.uploads, m.uploadDuration, m.uploadedBytes, m.sourceFetch, m.webhooks, m.callbacks}
}

// Register registers ikq's collectors with r: all of them, or none and an error.
// Registering a nil *Metrics does nothing.
func (m *Metrics) Register(r prometheus.Registerer) error {
	if m == nil {
		return nil
	}
	cs := m.collectors()
	for i, c := range cs {
		if err := r.Register(c); err != nil {
			for _, done := range cs[:i] {
				r.Unregister(done)
			}
			return fmt.Errorf("metrics: register ikq's metrics: %w", err)
		}
	}
	return nil
}

// For returns ikq's metrics registered with r, for a component given a
// prometheus.Registerer: the worker, the webhook receiver. Components that share r
// (`ikq dev` runs both in one process) share the collectors: a collector r already
// holds is used instead of a new one. A nil r records nothing (a nil *Metrics).
func For(r prometheus.Registerer) (*Metrics, error) {
	if r == nil {
		return nil, nil
	}
	m := New()
	var err error
	if m.uploads, err = adopt(r, m.uploads); err != nil {
		return nil, err
	}
	if m.uploadDuration, err = adopt(r, m.uploadDuration); err != nil {
		return nil, err
	}
	if m.uploadedBytes, err = adopt(r, m.uploadedBytes); err != nil {
		return nil, err
	}
	if m.sourceFetch, err = adopt(r, m.sourceFetch); err != nil {
		return nil, err
	}
	if m.webhooks, err = adopt(r, m.webhooks); err != nil {
		return nil, err
	}
	if m.callbacks, err = adopt(r, m.callbacks); err != nil {
		return nil, err
	}
	return m, nil
}

// adopt registers c with r, or returns the equal collector r already holds.
func adopt[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	err := r.Register(c)
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
	}
	if err != nil {
		return c, fmt.Errorf("metrics: register ikq's metrics: %w", err)
	}
	return c, nil
}

// UploadFinished records an upload attempt that ended with outcome (one of the
// Outcome constants) after d.
func (m *Metrics) UploadFinished(queue, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.uploads.WithLabelValues(queue, outcome).Inc()
	m.uploadDuration.WithLabelValues(queue, outcome).Observe(d.Seconds())
}

// BytesUploaded adds n bytes stored by ImageKit. n <= 0 adds nothing.
func (m *Metrics) BytesUploaded(n int64) {
	if m == nil || n <= 0 {
		return
	}
	m.uploadedBytes.Add(float64(n))
}

// SourceFetched records opening a source of scheme (http, https, file, s3, inline,
// …; keep the set small) that took d and ended with outcome FetchOK or FetchError.
func (m *Metrics) SourceFetched(scheme, outcome string, d time.Duration) {
	if m == nil {
		return
	}
	m.sourceFetch.WithLabelValues(scheme, outcome).Observe(d.Seconds())
}

// Webhook counts an ImageKit webhook of kind (WebhookExtension, WebhookAccount)
// with its result (WebhookApplied, WebhookDuplicate, WebhookRejected, WebhookInvalid).
func (m *Metrics) Webhook(kind, result string) {
	if m == nil {
		return
	}
	m.webhooks.WithLabelValues(kind, result).Inc()
}

// Callback counts a delivery attempt of a job record to an app's callback URL, with
// its result (CallbackDelivered, CallbackRetrying, CallbackFailed).
func (m *Metrics) Callback(result string) {
	if m == nil {
		return
	}
	m.callbacks.WithLabelValues(result).Inc()
}
