// Package restapi serves producer.Client over HTTP: the routes under /v1/uploads
// and /v1/runs that `ikq api` mounts behind its token guard, JSON in and out (the OpenAPI document
// is served at /openapi.json).
//
//	h := restapi.New(p, restapi.Options{Logger: log}) // p: a *producer.Client
//	mux.Handle("/v1/", guard.Wrap(h))
//
// The routes:
//
//	POST /v1/uploads                 one job → 202 + Location (200 when Idempotency-Key found an earlier job)
//	POST /v1/uploads/batch           a JSON array of up to 1000 jobs → 200 {"results": [...]}
//	GET  /v1/uploads/{id}            the record → 200, 404
//	GET  /v1/uploads?status=&limit=&cursor=  → 200 {"uploads": [...], "nextCursor": "…"}
//	POST /v1/uploads/{id}/cancel     → 200, 404, 409 once uploaded or finished
//	POST /v1/uploads/{id}/retry      → 202, 404, 409 unless failed or canceled (or while a canceled run is still stopping)
//	GET  /v1/runs?limit=&cursor=     → 200 {"runs": [...], "nextCursor": "…"}, newest first, with counts by status
//	GET  /v1/runs/{id}               → 200 the run: counts by status, failures grouped by reason; 404
//	GET  /v1/runs/{id}/uploads?status=&limit=&cursor=  → 200 {"uploads": [...]}, oldest first; 404
//	POST /v1/runs/{id}/retry?canceled=  → 202 {"run", "retried": n}: its failed (and canceled) jobs queued again; 404
//	GET  /v1/runs/{id}/results?format=csv|jsonl  → 200, every job's result streamed (ikq bulk -results' rows); 404
//
// For example:
//
//	curl -sS -X POST http://localhost:8080/v1/uploads \
//	  -H "Authorization: Bearer $IKQ_TOKEN" -H 'Content-Type: application/json' \
//	  -H 'Idempotency-Key: order-1234-photo-1' \
//	  -d '{"file": "https://example.com/photos/summer.jpg", "fileName": "summer.jpg", "tags": ["summer"]}'
//
// answers 202 with the job record, which GET /v1/uploads/{id} returns from then on.
// Job specs are decoded strictly ([tasks.Decode]) and validated before anything is
// written; each element of a batch on its own, so one bad job fails alone, as
// {"error": problem} in its place. The Idempotency-Key header sets the job's
// idempotencyKey.
//
// Errors are RFC 9457 application/problem+json, their type
// https://ikq.dev/problems/<slug> ([Problem]), with "errors" naming each bad field:
//
//	{"type": "https://ikq.dev/problems/invalid-job", "title": "Invalid upload job", "status": 400,
//	 "detail": "The upload job breaks 1 rule; see errors.",
//	 "errors": [{"field": "file", "message": "file uses the scheme ftp, which is not allowed here; …"}]}
//
// A client's mistake is always a 4xx and changes nothing: malformed JSON (400, with
// its byte offset), a wrong type or unknown field (400), a body over the limit
// (413), a Content-Type other than application/json (415). Only a Redis failure is a
// 5xx: 503 with Retry-After when Redis cannot be reached, else 500; the cause is
// logged, never answered. Records hold no secrets: sources' credentials and
// signatures read REDACTED, inline content is elided.
package restapi
