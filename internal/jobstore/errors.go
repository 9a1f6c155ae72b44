package jobstore

import (
	"errors"
	"fmt"
)

var (
	// ErrNotFound: no job has this id (never created, deleted, or expired).
	ErrNotFound = errors.New("jobstore: job not found")
	// ErrIllegalTransition: the move is not in the state machine. Errors returned by
	// Transition are *TransitionError values that match it with errors.Is.
	ErrIllegalTransition = errors.New("jobstore: illegal state transition")
	// ErrConflict: a write lost the compare-and-set race too many times in a row, or
	// Create was given the id of a job that exists.
	ErrConflict = errors.New("jobstore: conflicting concurrent writes")
	// ErrCorrupt: the stored record is not a job this package wrote.
	ErrCorrupt = errors.New("jobstore: corrupt job record")
)

// TransitionError says which illegal move was refused.
type TransitionError struct {
	ID       string
	From, To Status
}

func (e *TransitionError) Error() string {
	return fmt.Sprintf("jobstore: illegal state transition of job %s from %s to %s", e.ID, e.From, e.To)
}

// Unwrap returns ErrIllegalTransition, for errors.Is.
func (e *TransitionError) Unwrap() error { return ErrIllegalTransition }
