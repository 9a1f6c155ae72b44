package tasks

import (
	"errors"
	"fmt"
)

// Errors about jobs, shared by every layer of ikq: the job store returns them and
// package producer re-exports them, so errors.Is works with either name.
var (
	// ErrNotFound: no job has this id (never created, deleted, or expired).
	ErrNotFound = errors.New("ikq: job not found")
	// ErrIllegalTransition: the job's status does not allow this (canceling an
	// uploaded job, retrying a completed one). Such errors are *TransitionError
	// values that match it with errors.Is.
	ErrIllegalTransition = errors.New("ikq: illegal state transition")
	// ErrConflict: concurrent writes to one job kept racing; trying again wins.
	ErrConflict = errors.New("ikq: conflicting concurrent writes")
	// ErrNotReplicated: Redis did not confirm, on as many replicas as configured, that
	// it holds a new job, so a failover could lose it; trying again is safe with an
	// idempotency key.
	ErrNotReplicated = errors.New("ikq: job not confirmed by Redis replicas")
	// ErrQueueUnavailable: the job's task could not be queued (asynq's Redis did not
	// take it); nothing was kept, and trying again is safe.
	ErrQueueUnavailable = errors.New("ikq: the task queue did not take the job")
)

// TransitionError says which illegal move was refused.
type TransitionError struct {
	ID       string
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("ikq: illegal state transition of job %s from %s to %s", e.ID, e.From, e.To)
}

// Unwrap returns ErrIllegalTransition, for errors.Is.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }
