// Package callback delivers what ikq owes an app: the signed job record to the job's
// callbackUrl when the job ends (TypeCallback tasks), and ImageKit's extension
// webhooks, passed on to the job's webhookUrl (TypeRelay tasks).
//
//	d, err := callback.New(callback.Config{Store: store, Secret: os.Getenv("IKQ_CALLBACK_SECRET")})
//	if err != nil { ... } // a malformed secret: ErrSecret
//	mux.HandleFunc(tasks.TypeCallback, d.HandleCallback)
//	mux.HandleFunc(tasks.TypeRelay, d.HandleRelay)
//	retryDelay := func(n int, err error, t *asynq.Task) time.Duration { // asynq.Config.RetryDelayFunc
//		if t.Type() == tasks.TypeCallback || t.Type() == tasks.TypeRelay {
//			return callback.RetryDelay(n)
//		}
//		return asynq.DefaultRetryDelayFunc(n, err, t)
//	}
//	task, _ := tasks.NewCallbackTask(jobID, tasks.EventCompleted, asynq.MaxRetry(callback.MaxRetry))
//
// # Callbacks
//
// A callback is a POST of the job record, the JSON of GET /v1/uploads/{id}, signed
// the Standard Webhooks way with IKQ_CALLBACK_SECRET ("whsec_" + base64 key):
//
//	webhook-id:        cb_<jobID>_<event>   the same on every attempt: dedupe on it
//	webhook-timestamp: <unix seconds>
//	webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">
//	User-Agent:        ikq-callback
//
// Any Standard Webhooks library verifies it; Go apps can use producer.VerifyCallback.
// A 2xx answer is delivered; anything else, redirects included (never followed), is
// retried with RetryDelay for MaxRetry retries, about three days, then recorded as
// failed. The job record's callback field shows the state (pending, retrying,
// delivered, failed), the attempts, the last error (status and at most 200 characters
// of the answer, never a secret or the URL's tokens) and when it was delivered.
// Without a secret nothing is sent: the callback fails at once with ErrNoSecret.
//
// # Relays
//
// ImageKit's per-upload webhooks go to ikq's own receiver; an app that gave a
// webhookUrl gets each body passed on unchanged (User-Agent ikq-relay), retried the
// same way. They are not signed, as ImageKit's are not.
package callback
