package ikqtest

import (
	"testing"
	"time"
)

// WaitTimeout bounds the waits of end-to-end tests. It is generous: a wait that runs
// out is a failure that says what was awaited, never an assertion about speed.
const WaitTimeout = 30 * time.Second

// PollInterval is how often Eventually looks again.
const PollInterval = 50 * time.Millisecond

// Eventually polls cond every PollInterval until it holds, and fails the test with
// what() once WaitTimeout has passed.
func Eventually(t testing.TB, what func() string, cond func() bool) {
	t.Helper()
	EventuallyWithin(t, WaitTimeout, PollInterval, what, cond)
}

// EventuallyWithin is Eventually with its own deadline and interval.
func EventuallyWithin(t testing.TB, timeout, every time.Duration, what func() string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up after %s: %s", timeout, what())
		}
		time.Sleep(every)
	}
}

// Receive waits for a value on ch, and fails the test with what after WaitTimeout.
func Receive[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(WaitTimeout):
		t.Fatalf("gave up after %s: %s", WaitTimeout, what)
		var zero T
		return zero
	}
}
