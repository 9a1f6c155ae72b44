package callback

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
)

// HandleRelay is the asynq handler of TypeRelay tasks: it POSTs an ImageKit webhook
// body that ikq received for a job, as the task carries it (key order and numbers
// untouched), to the webhookUrl the job spec gave, so an app that asked ImageKit for webhooks still gets them. ImageKit does not
// sign these, so neither does the relay.
//
// A 2xx answer is done; anything else (redirects are not followed) is an error that
// asynq retries. A job that is gone, or whose spec has no webhookUrl, returns nil.
func (d *Deliverer) HandleRelay(ctx context.Context, t *asynq.Task) error {
	p, err := tasks.ParseRelayTask(t)
	if err != nil {
		return err
	}
	retried, _ := asynq.GetRetryCount(ctx)
	log := d.log.With("job_id", p.JobID, "attempt", retried+1, "type", tasks.TypeRelay)
	raw, err := d.store.Spec(ctx, p.JobID)
	if errors.Is(err, jobstore.ErrNotFound) {
		log.Info("relay dropped: the job is gone")
		return nil
	}
	if err != nil {
		return fmt.Errorf("relay: job %s: %w", p.JobID, err)
	}
	spec, err := tasks.Decode(raw)
	if err != nil {
		return fmt.Errorf("relay: job %s: stored spec: %w (%w)", p.JobID, err, asynq.SkipRetry)
	}
	if spec.WebhookURL == "" {
		return nil
	}
	log = log.With("url", tasks.RedactURL(spec.WebhookURL))
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", UserAgentRelay)
	if err := d.send(ctx, spec.WebhookURL, p.Body, h); err != nil {
		var de *DeliveryError
		if errors.As(err, &de) && de.permanent {
			log.Error("relay failed for good", "err", err)
			return fmt.Errorf("relay: job %s: %w (%w)", p.JobID, err, asynq.SkipRetry)
		}
		log.Warn("relay failed; will retry", "err", err)
		return fmt.Errorf("relay: job %s: %w", p.JobID, err)
	}
	log.Info("webhook relayed")
	return nil
}
