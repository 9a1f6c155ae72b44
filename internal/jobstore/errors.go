package jobstore

import (
	"errors"

	"github.com/ikq-dev/ikq/tasks"
)

// The store's errors are the public ones of package tasks, so that producer hands
// them on unchanged and errors.Is works with either name.
var (
	ErrNotFound          = tasks.ErrNotFound
	ErrIllegalTransition = tasks.ErrIllegalTransition
	ErrConflict          = tasks.ErrConflict
	ErrNotReplicated     = tasks.ErrNotReplicated
	// ErrCorrupt: the stored record is not a job this package wrote.
	ErrCorrupt = errors.New("jobstore: corrupt job record")
)

// TransitionError says which illegal move was refused.
type TransitionError = tasks.TransitionError
