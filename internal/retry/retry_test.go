package retry

import (
	"testing"
	"time"
)

func TestExponential(t *testing.T) {
	t.Parallel()
	const base, most = 5 * time.Second, 10 * time.Minute
	cases := []struct {
		n    int
		want time.Duration
	}{
		{-1, base}, {0, base}, {1, 10 * time.Second}, {2, 20 * time.Second},
		{6, 320 * time.Second}, {7, most}, {8, most}, {1 << 20, most},
	}
	for _, c := range cases {
		if got := Exponential(c.n, base, most); got != c.want {
			t.Errorf("Exponential(%d) = %s, want %s", c.n, got, c.want)
		}
	}
	// The callbacks' schedule: 30s·2ⁿ reaches its 6h cap at n = 10 and stays there.
	if got := Exponential(9, 30*time.Second, 6*time.Hour); got != 30*time.Second<<9 {
		t.Errorf("Exponential(9, 30s, 6h) = %s", got)
	}
	if got := Exponential(10, 30*time.Second, 6*time.Hour); got != 6*time.Hour {
		t.Errorf("Exponential(10, 30s, 6h) = %s, want the cap", got)
	}
	if got := Exponential(3, time.Minute, 30*time.Second); got != 30*time.Second {
		t.Errorf("a base above the cap: %s, want the cap", got)
	}
}
