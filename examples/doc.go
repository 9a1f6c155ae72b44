// Package examples holds programs built, as a web app's own module would be,
// against ikq's public packages only:
//
//   - webapp: a net/http app that enqueues uploads, lists them and verifies the
//     signed callbacks ikq sends when they end (packages producer and tasks);
//   - embedworker: a binary that runs an ikq worker and the ImageKit webhook
//     receiver in its own process (packages worker and webhook).
//
// `make lint` builds and vets this module, so a change that breaks the public face
// fails there.
package examples
