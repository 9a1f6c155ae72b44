package httpserve

import (
	"errors"
	"io"
	"net/http"
	"time"
)

// pace is one direction of one request: the bytes moved, and the time the server
// spent waiting on the client to move them.
type pace struct {
	l      *Limits
	bytes  int64
	waited time.Duration
}

// deadline is when a wait on the client starting at now must end: the credit left
// (Grace, plus the time MinRate allows for the bytes moved, less the time waited
// so far), at most Stall. No credit left: now, which fails the wait at once.
func (p *pace) deadline(now time.Time) time.Time {
	earned := time.Duration(float64(p.bytes) / float64(p.l.MinRate) * float64(time.Second))
	credit := p.l.Grace + earned - p.waited
	return now.Add(max(0, min(credit, p.l.Stall)))
}

func (p *pace) moved(n int, since time.Time) {
	p.bytes += int64(n)
	p.waited += time.Since(since)
}

// paced gives the body and the response of each request the deadlines of their
// pace. The server's own read and write timeouts stay off: one number cannot fit
// both a small JSON body and a 300 MB upload.
func paced(h http.Handler, l Limits) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		// A write deadline left by the connection's previous request must not cut
		// this one; the handler's own time is not the client's.
		_ = rc.SetWriteDeadline(time.Time{})
		pw := &pacedWriter{ResponseWriter: w, rc: rc, pace: pace{l: &l}}
		var body *pacedBody
		if r.Body != nil && r.Body != http.NoBody {
			body = &pacedBody{ReadCloser: r.Body, rc: rc, pace: pace{l: &l}}
			r.Body = body
		}
		h.ServeHTTP(pw, r)
		now := time.Now()
		// The server flushes the response, and drains what is left of the body,
		// after the handler returns.
		_ = rc.SetWriteDeadline(pw.pace.deadline(now))
		if body != nil && !body.eof {
			_ = rc.SetReadDeadline(body.pace.deadline(now))
		}
	})
}

// pacedBody sets the connection's read deadline before each read of the body.
type pacedBody struct {
	io.ReadCloser
	rc   *http.ResponseController
	pace pace
	eof  bool
}

func (b *pacedBody) Read(p []byte) (int, error) {
	now := time.Now()
	_ = b.rc.SetReadDeadline(b.pace.deadline(now))
	n, err := b.ReadCloser.Read(p)
	b.pace.moved(n, now)
	if errors.Is(err, io.EOF) && !b.eof {
		b.eof = true
		// Once the body is read, the server watches the connection for the client
		// going away; a deadline there would cancel the request.
		_ = b.rc.SetReadDeadline(time.Time{})
	}
	return n, err
}

// pacedWriter sets the connection's write deadline before each write. Unwrap lets
// http.ResponseController reach the server's writer.
type pacedWriter struct {
	http.ResponseWriter
	rc   *http.ResponseController
	pace pace
}

func (w *pacedWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *pacedWriter) WriteHeader(status int) {
	now := time.Now()
	_ = w.rc.SetWriteDeadline(w.pace.deadline(now))
	w.ResponseWriter.WriteHeader(status)
	w.pace.moved(0, now)
}

func (w *pacedWriter) Write(p []byte) (int, error) {
	now := time.Now()
	_ = w.rc.SetWriteDeadline(w.pace.deadline(now))
	n, err := w.ResponseWriter.Write(p)
	w.pace.moved(n, now)
	return n, err
}

// Flush keeps http.Flusher working for handlers that assert it.
func (w *pacedWriter) Flush() {
	now := time.Now()
	_ = w.rc.SetWriteDeadline(w.pace.deadline(now))
	_ = w.rc.Flush()
	w.pace.moved(0, now)
}
