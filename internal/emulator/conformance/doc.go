// Package conformance runs ImageKit's official SDKs against the emulator over real
// HTTP on loopback: Go's imagekit-go/v2 in go_test.go, and Node's imagekit@6 and
// @imagekit/nodejs@7 in node/ (driven by node_test.go, installed by `npm ci --prefix
// internal/emulator/conformance/node`). What the SDKs send and expect is the
// measure of the emulator; the package has no code of its own.
package conformance
