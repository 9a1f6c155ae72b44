package producer

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/ikq-dev/ikq/internal/whsec"
	"github.com/ikq-dev/ikq/tasks"
)

// Errors of VerifyCallback. A tampered body and a wrong secret look the same to a
// verifier: both are ErrCallbackSignature.
var (
	// ErrCallbackSecret: the secret given to VerifyCallback is not "whsec_" + the base64
	// of a key of at least 16 bytes.
	ErrCallbackSecret = errors.New("producer: IKQ_CALLBACK_SECRET must be \"whsec_\" followed by the base64 of a key of at least 16 bytes")
	// ErrCallbackHeaders: webhook-id, webhook-timestamp or webhook-signature is missing
	// or malformed.
	ErrCallbackHeaders = errors.New("producer: callback lacks valid webhook-id, webhook-timestamp and webhook-signature headers")
	// ErrCallbackTimestamp: webhook-timestamp is more than 5 minutes from now: an old
	// callback replayed, or a clock far off.
	ErrCallbackTimestamp = errors.New("producer: callback timestamp is more than 5 minutes off")
	// ErrCallbackSignature: no signature matches the body with this secret.
	ErrCallbackSignature = errors.New("producer: callback signature does not match")
	// ErrCallbackBody: the signature holds but the body is not a job record.
	ErrCallbackBody = errors.New("producer: callback body is not a job record")
)

// VerifyCallback checks that a callback came from ikq: the Standard Webhooks signature
// of body with secret (IKQ_CALLBACK_SECRET, "whsec_…"), a timestamp within 5 minutes.
// It returns the job record the callback carries.
//
// Pass the body exactly as read from the request. Every attempt of one callback
// carries the same webhook-id header (cb_<jobID>_<event>): an app that may see a
// callback twice (ikq retries until it gets a 2xx) drops the ones it has seen.
func VerifyCallback(secret string, header http.Header, body []byte) (*tasks.Job, error) {
	wh, err := whsec.New(secret)
	if err != nil {
		return nil, ErrCallbackSecret
	}
	if err := wh.Verify(body, header); err != nil {
		switch {
		case errors.Is(err, standardwebhooks.ErrMessageTooOld), errors.Is(err, standardwebhooks.ErrMessageTooNew):
			return nil, ErrCallbackTimestamp
		case errors.Is(err, standardwebhooks.ErrNoMatchingSignature):
			return nil, ErrCallbackSignature
		default: // ErrRequiredHeaders, ErrInvalidHeaders
			return nil, ErrCallbackHeaders
		}
	}
	var job tasks.Job
	if err := json.Unmarshal(body, &job); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCallbackBody, err) //nolint:errorlint // translated at the boundary: callers classify by ErrCallbackBody alone
	}
	if job.ID == "" {
		return nil, fmt.Errorf("%w: no id", ErrCallbackBody)
	}
	return &job, nil
}
