package bulk

import (
	"testing"
	"time"
)

// The pause between rounds of reading the followed jobs grows with their number, so
// that reads per second stay bounded, and stays within its bounds.
func TestPollPause(t *testing.T) {
	t.Parallel()
	prev := pollPause(0)
	if prev != minPollEvery {
		t.Errorf("pollPause(0) = %s, want the shortest pause %s", prev, minPollEvery)
	}
	for n := 1; n <= 2*defaultWindow; n *= 2 {
		p := pollPause(n)
		if p < prev || p < minPollEvery || p > pollEvery {
			t.Fatalf("pollPause(%d) = %s after %s: want non-decreasing, within [%s, %s]", n, p, prev, minPollEvery, pollEvery)
		}
		// A round reads n jobs: at most one read per pollPerJob of pause, once the
		// pause is above its floor and below its ceiling.
		if p > minPollEvery && p < pollEvery && p < pollPerJob*time.Duration(n) {
			t.Errorf("pollPause(%d) = %s: more than one read per %s", n, p, pollPerJob)
		}
		prev = p
	}
	if pollPause(32) >= pollEvery {
		t.Errorf("the last jobs of a run (32) wait a whole %s between rounds", pollEvery)
	}
	if pollPause(defaultWindow) != pollEvery {
		t.Errorf("a full window waits %s between rounds, want the longest pause %s", pollPause(defaultWindow), pollEvery)
	}
}
