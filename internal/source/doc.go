// Package source opens an upload job's source as a stream with a known name,
// size and content type, for a worker to stream into the Upload API.
//
//	o := source.New(source.Config{FileRoot: "/srv/uploads"})
//	src, err := o.Open(ctx, job.File)
//	var e *source.Error
//	if errors.As(err, &e) && !e.Retryable {
//		return fmt.Errorf("%w: %w", asynq.SkipRetry, err) // permanent: fail the job now
//	} else if err != nil {
//		return err // transient, already retried here: asynq tries again later
//	}
//	defer src.Body.Close()
//	// Stream src.Body as src.Name, typed src.ContentType, src.Size bytes (-1: unknown).
//
// # References
//
//   - http:// and https:// URLs: a GET whose response headers must arrive within
//     Config.HeaderTimeout (8s, the Upload API's own limit), following at most
//     Config.MaxRedirects redirects. The body then streams under the pacing
//     below. At most Config.HostLimit sources of one site are open at once.
//   - file:///abs/path, only under Config.FileRoot, symlinks resolved on both
//     sides; without a FileRoot, file:// is refused.
//   - data:<type>;base64,<data>, and plain base64 text (anything without a
//     colon), standard or URL-safe, padded or not, whitespace ignored. It is
//     decoded as it is read.
//   - Any other scheme given to Opener.Register, such as object stores.
//
// # Name, size, type
//
// Name comes from a Content-Disposition filename, else the final URL's last path
// segment, else the file name; inline content has none. Size is -1 when the
// source does not say. ContentType is the declared media type unless it is
// missing or application/octet-stream; then the first 3072 bytes are sniffed
// (and replayed, not consumed).
//
// # Size limit
//
// A source that declares a size over Config.MaxSize fails at once, unread.
// Otherwise Body counts: after exactly MaxSize bytes its next Read fails with an
// error matching ErrTooLarge. Nothing is buffered beyond the sniffed prefix.
//
// # Pacing
//
// Every source's Body, object stores' included, fails its read with a
// retryable KindTimeout when the source sends nothing for Config.IdleTimeout
// (30s), or less than Config.MinRate (8 KiB/s) averaged over about
// Config.RateWindow (30s). Only time spent waiting on the source counts, not
// time the caller spends between reads, so a slow upload does not make its
// source look slow. A tarpit then costs an attempt about half a minute, not
// the task's timeout.
//
// # Hosts
//
// With Config.HostLimit set, Open lets at most that many http(s) sources of
// one site be open at once (until their Body is closed); another waits up to
// Config.HostWait for a place, then fails with a retryable KindBusy matching
// ErrHostBusy, having sent nothing. A site is a registrable domain (all of
// *.example.com, by the public suffix list) or an IP address, so that one
// server under many names still counts once. A worker sets the limit to a
// share of its slots, so that one slow site cannot hold them all.
//
// # Retries and errors
//
// Opening an http(s) source is retried within the call on timeouts, connection
// errors, 5xx and 429, with exponential backoff and jitter (cenkalti/backoff),
// honouring Retry-After on 429 and 503, until Config.RetryElapsed. A host the
// DNS says does not exist is looked up twice, then fails for good. Failures
// are *Error, classified by Kind:
//
//	KindNotFound     404, 410, missing file, no such host   permanent
//	KindForbidden    401, 403, outside FileRoot             permanent
//	KindInvalid      other 4xx, bad reference, too many    permanent
//	                 redirects, a TLS certificate that
//	                 does not verify
//	KindTooLarge     over MaxSize                           permanent
//	KindUnavailable  connection errors, 5xx, 429            retryable
//	KindTimeout      no headers in time, 408, a body that   retryable
//	                 stalls or trickles
//	KindBusy         the host has HostLimit sources open    retryable
//
// Retryable errors have already been retried here; Retryable tells the job layer
// that a later attempt may succeed. Error messages pass the reference through
// Redact: no userinfo, no secret query parameters (signed URLs carry their
// secrets there), no inline content.
package source
