package worker

import (
	"context"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
)

// observeAttempt records an attempt that ended with outcome, started at start, having
// uploaded size bytes (0 when it stored nothing). An attempt cut short by shutdown,
// or that found its job needing no upload, is not an attempt that ended: it records
// nothing.
func (w *Worker) observeAttempt(ctx context.Context, start time.Time, outcome string, size int64) {
	queue, _ := asynq.GetQueueName(ctx)
	w.metrics.UploadFinished(queue, outcome, w.cfg.Now().Sub(start))
	w.metrics.BytesUploaded(size)
}

// uploadOutcome is the outcome of an attempt whose upload was recorded as to.
func uploadOutcome(to jobstore.Status) string {
	if to == jobstore.StatusUploaded {
		return metrics.OutcomeUploaded
	}
	return metrics.OutcomeCompleted
}

// failureOutcome is the outcome of an attempt that failed with f: what finishFailure
// does with it.
func failureOutcome(f failure, retried, maxRetry int) string {
	switch {
	case f.kind == canceled:
		return metrics.OutcomeCanceled
	case f.kind == permanent, f.kind == transient && retried >= maxRetry:
		return metrics.OutcomeFailed
	case f.kind == throttled:
		return metrics.OutcomeThrottled
	}
	return metrics.OutcomeRetrying
}

// observeFetch records opening the source ref, started at start, that failed with err
// (nil: opened).
func (w *Worker) observeFetch(ref string, start time.Time, err error) {
	outcome := metrics.FetchOK
	if err != nil {
		outcome = metrics.FetchError
	}
	w.metrics.SourceFetched(sourceScheme(ref), outcome, w.cfg.Now().Sub(start))
}

// sourceScheme is ref's scheme as a label: one of a fixed set, so that references
// never become label values.
func sourceScheme(ref string) string {
	ref = strings.TrimSpace(ref)
	scheme, _, found := strings.Cut(ref, ":")
	if !found {
		return "inline" // plain base64
	}
	switch scheme = strings.ToLower(scheme); scheme {
	case "data":
		return "inline"
	case "http", "https", "file", "s3", "gs", "azblob", "mem":
		return scheme
	}
	return "other"
}
