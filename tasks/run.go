package tasks

import (
	"fmt"
	"time"
)

// ErrRunNotFound: no run has this id (never created, or all its jobs finished and
// expired). It matches ErrNotFound too, so one errors.Is check covers jobs and runs.
var ErrRunNotFound = fmt.Errorf("ikq: run not found: %w", ErrNotFound)

// MaxRunIDLen is the longest run id.
const MaxRunIDLen = 128

// ValidRunID reports whether s may name a run: 1 to 128 letters, digits, '.', '_',
// '-' and ':', starting with a letter or digit. Run ids name Redis keys and files.
func ValidRunID(s string) bool {
	return len(s) <= MaxRunIDLen && runPattern.MatchString(s)
}

// Run is a group of jobs that share the run field of their spec: what `ikq bulk`
// makes of one invocation. GET /v1/runs/{id}, `ikq run show` and producer.Client.Run
// return it.
type Run struct {
	ID        string    `json:"id"`
	CreatedAt time.Time `json:"createdAt"` // when its first job (or ikq bulk) recorded it
	// Source, Mode, Folder and Root are what ikq bulk said of the run; empty for runs
	// made of jobs enqueued on their own.
	Source string `json:"source,omitempty"` // the folder, manifest or bucket prefix as given
	Mode   string `json:"mode,omitempty"`   // enqueue, local or embedded
	Folder string `json:"folder,omitempty"` // the folder prefix in ImageKit
	Root   string `json:"root,omitempty"`   // a folder run's absolute path on the machine that ran it
	// Total is the number of jobs recorded; Counts splits it by status.
	Total  int64     `json:"total"`
	Counts RunCounts `json:"counts"`
	// Done: every job has ended (completed, failed or canceled).
	Done bool `json:"done"`
	// Failures groups the failed and canceled jobs by reason, largest group first;
	// only Client.Run fills it.
	Failures []RunFailure `json:"failures,omitempty"`
}

// RunCounts is how many jobs of a run are in each status.
type RunCounts struct {
	Queued    int64 `json:"queued"`
	Active    int64 `json:"active"`
	Retrying  int64 `json:"retrying"`
	Uploaded  int64 `json:"uploaded"`
	Completed int64 `json:"completed"`
	Failed    int64 `json:"failed"`
	Canceled  int64 `json:"canceled"`
}

// Of returns the count of status s.
func (c *RunCounts) Of(s Status) int64 {
	if p := c.field(s); p != nil {
		return *p
	}
	return 0
}

// Set sets the count of status s.
func (c *RunCounts) Set(s Status, n int64) {
	if p := c.field(s); p != nil {
		*p = n
	}
}

func (c *RunCounts) field(s Status) *int64 {
	switch s {
	case StatusQueued:
		return &c.Queued
	case StatusActive:
		return &c.Active
	case StatusRetrying:
		return &c.Retrying
	case StatusUploaded:
		return &c.Uploaded
	case StatusCompleted:
		return &c.Completed
	case StatusFailed:
		return &c.Failed
	case StatusCanceled:
		return &c.Canceled
	}
	return nil
}

// Unfinished is the number of jobs that have not ended yet.
func (c RunCounts) Unfinished() int64 { return c.Queued + c.Active + c.Retrying + c.Uploaded }

// RunFailure is one reason jobs of a run failed (or "canceled"), with how many and
// a few of them.
type RunFailure struct {
	Reason   string       `json:"reason"`
	Status   Status       `json:"status"` // failed or canceled
	Count    int          `json:"count"`
	Examples []RunExample `json:"examples"`
}

// RunExample names one job of a failure group.
type RunExample struct {
	JobID  string `json:"jobId"`
	Source string `json:"source"` // the job's file, redacted
}

// RunInfo is what ikq bulk records of a run when it starts.
type RunInfo struct {
	ID, Source, Mode, Folder, Root string
}

// RunListOptions select a page of runs, newest first.
type RunListOptions struct {
	Limit  int    // page size; default DefaultListLimit, at most MaxListLimit
	Cursor string // from the previous page's next cursor
}
