// Package retry holds the one rule of ikq's task retries: the delay before a retry
// grows exponentially up to a cap. The worker's upload retries and the callback and
// relay retries both use it, each with its own base, cap and jitter. (Retries inside
// one attempt, opening a source, use cenkalti/backoff in package source.)
//
//	d := retry.Exponential(n, 5*time.Second, 10*time.Minute) // n: retries so far
package retry

import "time"

// Exponential is the delay before retry n+1 (n counts the retries so far): base·2ⁿ,
// at most most. n below 0 counts as 0; it never overflows.
func Exponential(n int, base, most time.Duration) time.Duration {
	d := base
	for range max(n, 0) {
		if d >= most/2 {
			return most
		}
		d *= 2
	}
	return min(d, most)
}
