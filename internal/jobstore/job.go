package jobstore

import (
	"github.com/ikq-dev/ikq/tasks"
)

// The record and its statuses are the public ones of package tasks: the store keeps
// exactly what producer returns, so nothing is converted at the boundary.
type (
	Job      = tasks.Job
	Status   = tasks.Status
	JobError = tasks.JobError
	Callback = tasks.Callback
	Event    = tasks.Event
)

const (
	StatusQueued    = tasks.StatusQueued
	StatusActive    = tasks.StatusActive
	StatusRetrying  = tasks.StatusRetrying
	StatusUploaded  = tasks.StatusUploaded
	StatusCompleted = tasks.StatusCompleted
	StatusFailed    = tasks.StatusFailed
	StatusCanceled  = tasks.StatusCanceled
)

// statuses lists every status, in the order of a job's life.
var statuses = tasks.Statuses()

// transitions[from][to] is true for every legal move.
var transitions = map[Status]map[Status]bool{
	StatusQueued: {StatusActive: true, StatusFailed: true, StatusCanceled: true},
	// active→active is a re-run (asynq runs a task at least once); active→queued is a
	// task pushed back to pending at worker shutdown.
	StatusActive: {StatusActive: true, StatusRetrying: true, StatusUploaded: true,
		StatusCompleted: true, StatusFailed: true, StatusCanceled: true, StatusQueued: true},
	StatusRetrying: {StatusActive: true, StatusRetrying: true, StatusFailed: true,
		StatusCanceled: true, StatusQueued: true},
	// uploaded→uploaded records webhook progress; the file exists, so no cancel.
	StatusUploaded:  {StatusUploaded: true, StatusCompleted: true},
	StatusCompleted: {},
	// failed and canceled jobs go back to queued when the producer retries them.
	StatusFailed:   {StatusQueued: true},
	StatusCanceled: {StatusQueued: true},
}

// CanTransition reports whether a job in from may move to to.
func CanTransition(from, to Status) bool { return transitions[from][to] }
