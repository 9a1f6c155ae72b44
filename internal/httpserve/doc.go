// Package httpserve runs ikq's HTTP servers (the API, the emulator, a worker's
// metrics) with a bound on everything one client can hold.
//
//	err := httpserve.Serve(ctx, ln, handler, httpserve.Limits{MaxConns: 512}, log)
//
// What Limits bound:
//
//   - the request line and headers: ReadHeaderTimeout and MaxHeaderBytes;
//   - a kept-alive connection between requests: IdleTimeout;
//   - a request body and a response: paced, not timed. Each must move at MinRate
//     bytes a second on average, counting only the time the server spends waiting
//     on the client, after a Grace, and no single wait may last longer than Stall.
//     A 300 MB upload sent steadily over a slow link succeeds; a body or a reader
//     that trickles a byte now and then is cut off once its credit is spent. The
//     handler's own time (a slow disk, an injected latency) is never the client's.
//   - connections: at most MaxConns at once. At the cap, the longest idle kept-alive
//     connection is closed to admit a new one; when none is idle, new connections
//     wait in the listen queue until one ends.
//
// Serve stops when ctx ends, giving requests in flight ten seconds to finish.
package httpserve
