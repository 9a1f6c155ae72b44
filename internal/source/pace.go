package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ikq-dev/ikq/internal/bytesize"
)

// errStalled is the cause a pacedBody cancels its source's context with.
var errStalled = errors.New("source stalled")

// pacedBody fails a body that stalls or trickles, so that a tarpit cannot hold
// an upload slot until the task's timeout. Only the time spent inside the
// source's Read counts: a reader that is slow to ask for more (the upload
// waiting on ImageKit) does not make the source look slow.
//
// The rule is a budget of waiting time, at most window: reading drains it,
// every byte adds 1/minRate seconds back. A source that keeps its average rate
// at minRate never runs out; one below it does within about window. A single
// Read waiting idle without a byte fails too.
type pacedBody struct {
	r      io.Reader
	stop   context.CancelCauseFunc // ends the context the source reads under
	ref    string
	idle   time.Duration // 0: no idle limit
	rate   float64       // bytes per second; 0: no rate limit
	window time.Duration
	credit time.Duration
	timer  *time.Timer
	err    error // sticky
}

func newPacedBody(r io.Reader, stop context.CancelCauseFunc, ref string, idle time.Duration, rate int64, window time.Duration) io.Reader {
	if idle <= 0 && rate <= 0 {
		return r
	}
	b := &pacedBody{r: r, stop: stop, ref: ref, idle: idle, rate: float64(rate), window: window, credit: window}
	b.timer = time.AfterFunc(time.Hour, func() { stop(errStalled) })
	b.timer.Stop()
	return b
}

func (b *pacedBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	limit, idle := b.limit()
	if limit <= 0 {
		return 0, b.fail(idle)
	}
	b.timer.Reset(limit)
	start := time.Now()
	n, err := b.r.Read(p)
	fired := !b.timer.Stop()
	if fired {
		return 0, b.fail(idle)
	}
	if b.rate > 0 {
		b.credit += time.Duration(float64(n)/b.rate*float64(time.Second)) - time.Since(start)
		b.credit = min(b.credit, b.window)
	}
	return n, err
}

// limit is how long the next Read may wait, and whether that is the idle limit
// rather than the rate's budget.
func (b *pacedBody) limit() (time.Duration, bool) {
	if b.rate <= 0 {
		return b.idle, true
	}
	if b.idle > 0 && b.idle <= b.credit {
		return b.idle, true
	}
	return b.credit, false
}

func (b *pacedBody) fail(idle bool) error {
	b.stop(errStalled) // the Read that timed out already saw it
	msg := fmt.Sprintf("no data for %s", b.idle)
	if !idle {
		msg = fmt.Sprintf("slower than %s/s over %s", bytesize.Format(int64(b.rate)), b.window)
	}
	b.err = &Error{Kind: KindTimeout, Retryable: true, Ref: b.ref, Err: errors.New(msg)}
	return b.err
}
