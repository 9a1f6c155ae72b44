package worker

import (
	"context"
	"errors"
	"net"
	"syscall"
	"testing"
)

// refused is what go-redis returns while the node holding job state is down.
var refused = &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}

func TestBeforeUploadRidesOutAFailover(t *testing.T) {
	t.Parallel()
	var w Worker
	calls := 0
	err := w.beforeUpload(t.Context(), false, func(context.Context) error {
		if calls++; calls < 4 {
			return refused
		}
		return nil
	})
	if err != nil || calls != 4 {
		t.Fatalf("beforeUpload = %v after %d calls, want nil after 4", err, calls)
	}
}

func TestBeforeUploadHandsTheTaskBackWithoutSpendingAnAttempt(t *testing.T) {
	t.Parallel()
	var w Worker
	err := w.beforeUpload(t.Context(), false, func(context.Context) error { return refused })
	var d *delayedError
	if !errors.As(err, &d) || !d.free || d.after != stateRequeueDelay {
		t.Fatalf("beforeUpload with job state down = %#v, want a free delayed error", err)
	}
	if isFailure(err) {
		t.Error("asynq would count the handed-back task as a failed attempt")
	}
	if !errors.Is(err, errStateUnavailable) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Errorf("error %v does not say what failed", err)
	}
}

func TestBeforeUploadKeepsWaitingOnTheLastAttempt(t *testing.T) {
	t.Parallel()
	var w Worker
	ctx, cancel := context.WithCancel(t.Context())
	calls := 0
	err := w.beforeUpload(ctx, true, func(context.Context) error {
		// Past the point where an earlier attempt would have handed the task back.
		if calls++; calls == int(stateWaitBeforeRequeue/stateWaitStep)+4 {
			cancel()
		}
		return refused
	})
	var d *delayedError
	if errors.As(err, &d) {
		t.Fatalf("the last attempt handed its task back (asynq would archive it): %v", err)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("beforeUpload = %v, want the outage's error when the task's ctx ends", err)
	}
}

func TestBeforeUploadReturnsOtherErrorsAtOnce(t *testing.T) {
	t.Parallel()
	var w Worker
	want := errors.New("ERR wrong number of arguments")
	calls := 0
	if err := w.beforeUpload(t.Context(), false, func(context.Context) error { calls++; return want }); !errors.Is(err, want) || calls != 1 {
		t.Fatalf("beforeUpload = %v after %d calls, want %v after 1", err, calls, want)
	}
}
