package callback

import (
	"math/rand/v2"
	"time"

	"github.com/ikq-dev/ikq/internal/retry"
)

// MaxRetry is the asynq MaxRetry of callback and relay tasks: with RetryDelay, 20
// retries span about three days, so an app that is down over a weekend still gets
// its callbacks.
const MaxRetry = 20

const (
	retryBase = 30 * time.Second
	retryCap  = 6 * time.Hour
)

// RetryDelay is the delay before retry n+1 of a callback or relay task (n counts the
// retries so far, as asynq's RetryDelayFunc does): 30s·2ⁿ, at most 6h, with ±10%
// jitter so that the callbacks of a burst of jobs do not hit a recovering app at once.
//
// Over MaxRetry retries (n = 0…19) the delays add up to 68.5 hours, about 2.85 days
// (2.57 to 3.14 days with the jitter): ten doubling steps from 30 s to 4h16m (8.5 h in
// all), then ten steps of 6 h.
func RetryDelay(n int) time.Duration { return retryDelay(n, rand.Float64) }

// retryDelay is RetryDelay with its randomness injected: rnd returns [0, 1).
func retryDelay(n int, rnd func() float64) time.Duration {
	d := retry.Exponential(n, retryBase, retryCap)
	return time.Duration(float64(d) * (0.9 + 0.2*rnd()))
}
