package tasks

import (
	"encoding/json"
	"time"
)

// Status is where a job is in its life:
//
//	queued ──> active ──> uploaded ──> completed
//	             │  ^
//	             v  │
//	           retrying          (any state before uploaded) ──> failed | canceled
type Status string

const (
	StatusQueued    Status = "queued"    // accepted; its asynq task is pending or scheduled
	StatusActive    Status = "active"    // a worker holds it
	StatusRetrying  Status = "retrying"  // the last attempt failed transiently; see NextAttemptAt
	StatusUploaded  Status = "uploaded"  // stored at ImageKit; extensions still pending
	StatusCompleted Status = "completed" // stored, every extension final
	StatusFailed    Status = "failed"    // permanent error or attempts exhausted; see Error
	StatusCanceled  Status = "canceled"  // canceled by the producer before upload
)

// Statuses lists every status, in the order of a job's life.
func Statuses() []Status {
	return []Status{StatusQueued, StatusActive, StatusRetrying, StatusUploaded,
		StatusCompleted, StatusFailed, StatusCanceled}
}

// Final reports whether the job is finished: completed, failed or canceled. Finished
// jobs' records expire after the configured retention.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCanceled
}

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	switch s {
	case StatusQueued, StatusActive, StatusRetrying, StatusUploaded,
		StatusCompleted, StatusFailed, StatusCanceled:
		return true
	}
	return false
}

// Job is a job's record: what GET /v1/uploads/{id} and `ikq status` print, what
// producer.Client's methods return and what a callback carries.
type Job struct {
	ID             string            `json:"id"`
	Status         Status            `json:"status"`
	Queue          string            `json:"queue"`
	Attempts       int               `json:"attempts"`
	MaxAttempts    int               `json:"maxAttempts"`
	NextAttemptAt  *time.Time        `json:"nextAttemptAt,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
	UpdatedAt      time.Time         `json:"updatedAt"`
	IdempotencyKey string            `json:"idempotencyKey,omitempty"`
	Run            string            `json:"run,omitempty"`    // the run it belongs to (Upload.Run)
	Request        json.RawMessage   `json:"request"`          // the job spec, redacted (see Upload.Redacted)
	Result         json.RawMessage   `json:"result,omitempty"` // the Upload API response body
	FileID         string            `json:"fileId,omitempty"`
	Extensions     map[string]string `json:"extensions,omitempty"` // name → pending|success|failed|unknown
	Error          *JobError         `json:"error,omitempty"`
	Callback       *Callback         `json:"callback,omitempty"`
	Events         []Event           `json:"events"`
}

// JobError says why a job failed, or why its last attempt did.
type JobError struct {
	Code       string `json:"code"`
	Message    string `json:"message"`
	Retryable  bool   `json:"retryable"`
	HTTPStatus int    `json:"httpStatus,omitempty"`
}

// Callback is the delivery state of the job's callbackUrl.
type Callback struct {
	URL         string     `json:"url"`
	Status      string     `json:"status"` // pending|delivered|failed
	Attempts    int        `json:"attempts"`
	LastError   string     `json:"lastError,omitempty"`
	DeliveredAt *time.Time `json:"deliveredAt,omitempty"`
}

// Event is one line of the job's timeline.
type Event struct {
	Time    time.Time `json:"time"`
	State   Status    `json:"state"`
	Message string    `json:"message"`
}

const (
	// DefaultListLimit is the page size when ListOptions.Limit is 0.
	DefaultListLimit = 50
	// MaxListLimit is the largest page.
	MaxListLimit = 1000
)

// ListOptions select a page of jobs, newest first.
type ListOptions struct {
	Status Status // "" lists every job
	Limit  int    // page size; default DefaultListLimit, at most MaxListLimit
	Cursor string // from the previous page's next cursor; "" starts at the newest job
}
