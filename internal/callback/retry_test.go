package callback

import (
	"testing"
	"time"
)

func TestRetryDelayBounds(t *testing.T) {
	t.Parallel()
	for n := -1; n <= 64; n++ {
		base := retryCap
		if n < 10 {
			base = retryBase << max(n, 0)
		}
		lo, hi := retryDelay(n, func() float64 { return 0 }), retryDelay(n, func() float64 { return 0.999999 })
		if lo != base*9/10 || hi < base*109/100 || hi > base*11/10 {
			t.Errorf("n=%d: delays %v…%v, want %v ±10%%", n, lo, hi, base)
		}
		for range 20 {
			if d := RetryDelay(n); d < lo || d > hi {
				t.Errorf("n=%d: RetryDelay = %v, outside %v…%v", n, d, lo, hi)
			}
		}
	}
	if d := RetryDelay(1 << 30); d > retryCap*11/10 {
		t.Errorf("RetryDelay(huge) = %v, over the cap", d)
	}
}

func TestRetryDelaySpansAboutThreeDays(t *testing.T) {
	t.Parallel()
	day := 24 * time.Hour
	for name, rnd := range map[string]func() float64{
		"random":   nil,
		"shortest": func() float64 { return 0 },
		"longest":  func() float64 { return 0.999999 },
	} {
		var total time.Duration
		for n := range MaxRetry {
			if rnd == nil {
				total += RetryDelay(n)
			} else {
				total += retryDelay(n, rnd)
			}
		}
		if total < day*5/2 || total > day*7/2 {
			t.Errorf("%s: %d retries span %v (%.2f days), want 2.5 to 3.5 days", name, MaxRetry, total, total.Hours()/24)
		}
		if rnd == nil {
			t.Logf("%d retries span %v (%.2f days)", MaxRetry, total.Round(time.Minute), total.Hours()/24)
		}
	}
}
