// Package webhook receives ImageKit's webhooks and merges the statuses they report
// into ikq's jobs.
//
//	secret, err := webhook.LoadOrCreateSecret(ctx, rdb, os.Getenv("IKQ_WEBHOOK_CAPABILITY_SECRET"))
//	if err != nil { ... }
//	capability, err := webhook.NewCapability(secret)
//	if err != nil { ... }
//	// The worker: the webhookUrl it gives ImageKit for a job with extensions.
//	params.WebhookURL = capability.URL(publicURL, jobID)
//	// The API process: the receiver, mounted at /webhooks/.
//	h, err := webhook.NewHandler(webhook.Config{Redis: rdb, Capability: capability,
//		AccountSecret: os.Getenv("IKQ_WEBHOOK_SECRET"), Registerer: prometheus.DefaultRegisterer, Logger: log})
//	mux.Handle("/webhooks/", h)
//
// # Extension callbacks: POST /webhooks/imagekit/{id}?token=
//
// ImageKit POSTs the final status of each pending extension to the upload's
// webhookUrl, one request per extension, {"service","status":"SUCCESS"|"FAILURE",
// "fileObject"|"fileId","error"}, unsigned. So the worker gives it a capability URL
// per job: the token is an HMAC of the job id under a secret all ikq processes share
// (LoadOrCreateSecret keeps one in Redis when none is configured). The receiver checks
// the token in constant time before reading the body, then records the status on the
// job (completing it when it was the last pending item) and, when the job has its own
// webhookUrl, queues the body to be relayed to the app.
//
// # Account events: POST /webhooks/imagekit
//
// Events configured in ImageKit's dashboard (upload.pre-transform.*,
// upload.post-transform.*, video.transformation.*, file.*) arrive signed with Standard
// Webhooks headers (webhook-id, webhook-timestamp, webhook-signature), the legacy
// x-ik-signature, or both. Every signature present must verify (VerifyStandard,
// VerifyLegacy), within Config.Tolerance of now either way; both schemes use the raw
// bytes of the dashboard secret as the HMAC key, as ImageKit's SDKs do. An event id
// seen in the last 48 hours is answered "duplicate". Pre- and post-transformation
// events are mapped to their job by fileId and recorded on it; others are
// answered "ignored". An upload.pre-transform.error names no file, so it is ignored
// too: the job's deadline marks that item unknown.
//
// # Answers
//
// ImageKit takes only 200 as delivered and retries anything else for up to 24 hours:
//
//	200 {"status":"applied"}     merged; changed the job
//	200 {"status":"duplicate"}   already known; changed nothing
//	200 {"status":"ignored"}     no job to apply it to (expired, or not one of ikq's items)
//	400, 413                     not an event (problem+json); 401 bad token or signature
//	503                          the job store failed, or no account secret: retried
//
// A refused request changes nothing, and the only 5xx is 503: the job store or Redis
// failed, or no account secret is configured.
package webhook
