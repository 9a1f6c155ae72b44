package jobstore

import (
	"crypto/rand"
	"encoding/json"
	"time"

	"github.com/oklog/ulid/v2"
)

// Status is where a job is in its life (DESIGN.md §2 "States").
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

// statuses lists every status, in the order of a job's life.
var statuses = []Status{StatusQueued, StatusActive, StatusRetrying, StatusUploaded,
	StatusCompleted, StatusFailed, StatusCanceled}

// Final reports whether the job is finished: completed, failed or canceled. Finished
// jobs expire after Options.Retention.
func (s Status) Final() bool {
	return s == StatusCompleted || s == StatusFailed || s == StatusCanceled
}

// Valid reports whether s is one of the statuses above.
func (s Status) Valid() bool {
	_, ok := transitions[s]
	return ok
}

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

// Job is the record of DESIGN.md §2; GET /v1/uploads/{id} returns it as JSON.
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
	Request        json.RawMessage   `json:"request"`          // the job spec, already redacted by the caller
	Result         json.RawMessage   `json:"result,omitempty"` // the Upload API response body
	FileID         string            `json:"fileId,omitempty"`
	Extensions     map[string]string `json:"extensions,omitempty"` // name → pending|success|failed|unknown
	Error          *JobError         `json:"error,omitempty"`
	Callback       *Callback         `json:"callback,omitempty"`
	Events         []Event           `json:"events"`

	// Spec is the job spec as the worker needs it, sources' secrets included. Create
	// stores it beside the record, never in it: Get leaves it empty and Spec reads it.
	Spec json.RawMessage `json:"-"`
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

// NewID returns a ULID: 26 characters that sort, as strings, in order of time
// (milliseconds), and in order of creation within one process.
func NewID(now time.Time) string {
	id, err := ulid.New(ulid.Timestamp(now), ulid.DefaultEntropy())
	if err != nil { // the monotonic counter overflowed within one millisecond
		id = ulid.MustNew(ulid.Timestamp(now), rand.Reader)
	}
	return id.String()
}
