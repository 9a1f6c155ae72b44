// Package redact is ikq's one policy for showing a URL in logs, errors and job
// records without the secrets it may carry.
//
//	redact.URL("https://user:pw@bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=20250101T000000Z&X-Amz-Signature=abc")
//	// https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=20250101T000000Z&X-Amz-Signature=REDACTED
//
// The policy:
//
//   - userinfo (user and password, or a lone token before '@') is removed;
//   - the value of every query or fragment parameter whose name looks secret
//     ([SecretParam]: signatures, tokens, keys, passwords, credentials, ImageKit's
//     ik-s/ik-t, Azure SAS's sv/se/sp/sig, OAuth's code, ...) reads REDACTED,
//     whatever the case of the name and however it is percent-encoded;
//   - a parameter whose value is itself a URL (a signed URL passed along, encoded
//     once or more) is redacted by the same rules, or wholesale when it is nested
//     too deeply or encoded more than once;
//   - everything else stays byte for byte, so a person can still tell which file
//     or endpoint it was;
//   - a string net/url cannot parse keeps no query or fragment at all, since nobody
//     can tell where its userinfo ends or its parameters begin.
//
// URL is idempotent: redacting its output changes nothing.
//
// Text applies the same policy to an error message that a job record keeps or the
// API returns: every URL in it through URL, and the internal network details of Go's
// and the cloud SDKs' errors left out (the resolver's address, the addresses of a
// connection, the instance metadata service a credential chain probed), while the
// failure stays named. Logs keep errors whole, for the operator.
//
// Nothing else in ikq decides what is secret in a URL; a known secret value (the
// private API key echoed in an answer) is replaced with the same Mask. The package
// imports only the standard library so that the public tasks package may use it.
package redact
