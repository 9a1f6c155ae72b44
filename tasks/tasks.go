package tasks

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/hibiken/asynq"
)

// Task types.
const (
	TypeUpload   = "ikq:upload"   // payload: UploadPayload
	TypeCallback = "ikq:callback" // payload: CallbackPayload
	TypeDeadline = "ikq:deadline" // payload: JobPayload: items still pending become unknown
	TypeRelay    = "ikq:relay"    // payload: RelayPayload: an ImageKit webhook passed on to the app
)

// Queues, in the order of their default weights (critical=6, default=3, low=1).
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Callback events: the final states a job reports to its callbackUrl.
const (
	EventCompleted = "completed"
	EventFailed    = "failed"
	EventCanceled  = "canceled"
)

// Errors of the task parsers. Both also match asynq.SkipRetry: a task of the wrong type or
// with a broken payload never gets better by running again.
var (
	ErrWrongType  = errors.New("tasks: wrong task type")
	ErrBadPayload = errors.New("tasks: bad task payload")
)

// UploadPayload is the payload of a TypeUpload task. Queues carry references, not bytes:
// the job spec lives in the job store under JobID.
type UploadPayload struct {
	JobID string `json:"jobId"`
}

// CallbackPayload is the payload of a TypeCallback task: deliver the record of job JobID,
// which reached Event, to its callbackUrl.
type CallbackPayload struct {
	JobID string `json:"jobId"`
	Event string `json:"event"` // completed | failed | canceled
}

// JobPayload is the payload of tasks about one job (TypeDeadline).
type JobPayload struct {
	JobID string `json:"jobId"`
}

// RelayPayload is the payload of a TypeRelay task: an ImageKit webhook body that ikq
// received for job JobID and passes on, as it came, to the webhookUrl of the job spec.
type RelayPayload struct {
	JobID string          `json:"jobId"`
	Body  json.RawMessage `json:"body"`
}

// NewDeadlineTask returns a task that ends the wait for job jobID's pending items.
func NewDeadlineTask(jobID string, opts ...asynq.Option) (*asynq.Task, error) {
	if jobID == "" {
		return nil, fmt.Errorf("tasks: new %s task: empty job id", TypeDeadline)
	}
	payload, _ := json.Marshal(JobPayload{JobID: jobID})
	return asynq.NewTask(TypeDeadline, payload, opts...), nil
}

// ParseDeadlineTask reads the payload of a TypeDeadline task.
func ParseDeadlineTask(t *asynq.Task) (JobPayload, error) {
	var p JobPayload
	if err := parse(t, TypeDeadline, &p); err != nil {
		return JobPayload{}, err
	}
	if p.JobID == "" {
		return JobPayload{}, badPayload(TypeDeadline, "no jobId")
	}
	return p, nil
}

// NewRelayTask returns a task that passes an ImageKit webhook body on to the app.
func NewRelayTask(jobID string, body []byte, opts ...asynq.Option) (*asynq.Task, error) {
	if jobID == "" || !json.Valid(body) {
		return nil, fmt.Errorf("tasks: new %s task: need a job id and a JSON body", TypeRelay)
	}
	payload, err := json.Marshal(RelayPayload{JobID: jobID, Body: body})
	if err != nil {
		return nil, fmt.Errorf("tasks: new %s task: %w", TypeRelay, err)
	}
	return asynq.NewTask(TypeRelay, payload, opts...), nil
}

// ParseRelayTask reads the payload of a TypeRelay task.
func ParseRelayTask(t *asynq.Task) (RelayPayload, error) {
	var p RelayPayload
	if err := parse(t, TypeRelay, &p); err != nil {
		return RelayPayload{}, err
	}
	if p.JobID == "" || len(p.Body) == 0 {
		return RelayPayload{}, badPayload(TypeRelay, "no jobId or body")
	}
	return p, nil
}

// NewUploadTask returns a task that uploads job jobID.
func NewUploadTask(jobID string, opts ...asynq.Option) (*asynq.Task, error) {
	if jobID == "" {
		return nil, fmt.Errorf("tasks: new %s task: empty job id", TypeUpload)
	}
	payload, err := json.Marshal(UploadPayload{JobID: jobID})
	if err != nil {
		return nil, fmt.Errorf("tasks: new %s task: %w", TypeUpload, err)
	}
	return asynq.NewTask(TypeUpload, payload, opts...), nil
}

// DefaultTaskTimeout bounds one attempt of an upload unless configured otherwise:
// sized for large files.
const DefaultTaskTimeout = time.Hour

// JobUploadTask returns the upload task of job j, as it is queued: the job's id as
// the task's id (so a job never has two), its queue, its attempts, and timeout
// (DefaultTaskTimeout when <= 0).
func JobUploadTask(j *Job, timeout time.Duration, opts ...asynq.Option) (*asynq.Task, error) {
	if timeout <= 0 {
		timeout = DefaultTaskTimeout
	}
	return NewUploadTask(j.ID, append([]asynq.Option{
		asynq.TaskID(j.ID),
		asynq.Queue(j.Queue),
		asynq.MaxRetry(max(j.MaxAttempts-1, 0)),
		asynq.Timeout(timeout),
	}, opts...)...)
}

// ParseUploadTask reads the payload of a TypeUpload task.
func ParseUploadTask(t *asynq.Task) (UploadPayload, error) {
	var p UploadPayload
	if err := parse(t, TypeUpload, &p); err != nil {
		return UploadPayload{}, err
	}
	if p.JobID == "" {
		return UploadPayload{}, badPayload(TypeUpload, "no jobId")
	}
	return p, nil
}

// NewCallbackTask returns a task that delivers job jobID's record for event to the job's
// callbackUrl.
func NewCallbackTask(jobID, event string, opts ...asynq.Option) (*asynq.Task, error) {
	if jobID == "" {
		return nil, fmt.Errorf("tasks: new %s task: empty job id", TypeCallback)
	}
	if !validEvent(event) {
		return nil, fmt.Errorf("tasks: new %s task: event %q is not completed, failed or canceled", TypeCallback, event)
	}
	payload, err := json.Marshal(CallbackPayload{JobID: jobID, Event: event})
	if err != nil {
		return nil, fmt.Errorf("tasks: new %s task: %w", TypeCallback, err)
	}
	return asynq.NewTask(TypeCallback, payload, opts...), nil
}

// ParseCallbackTask reads the payload of a TypeCallback task.
func ParseCallbackTask(t *asynq.Task) (CallbackPayload, error) {
	var p CallbackPayload
	if err := parse(t, TypeCallback, &p); err != nil {
		return CallbackPayload{}, err
	}
	if p.JobID == "" {
		return CallbackPayload{}, badPayload(TypeCallback, "no jobId")
	}
	if !validEvent(p.Event) {
		return CallbackPayload{}, badPayload(TypeCallback, fmt.Sprintf("event %q is not completed, failed or canceled", p.Event))
	}
	return p, nil
}

func validEvent(e string) bool {
	return slices.Contains([]string{EventCompleted, EventFailed, EventCanceled}, e)
}

// parse checks the task type and decodes its payload. Unknown payload fields are ignored,
// so a task written by a newer producer still runs on an older worker.
func parse(t *asynq.Task, want string, dst any) error {
	if t == nil {
		return fmt.Errorf("%w: no task, want %q (%w)", ErrWrongType, want, asynq.SkipRetry)
	}
	if t.Type() != want {
		return fmt.Errorf("%w: got %q, want %q (%w)", ErrWrongType, t.Type(), want, asynq.SkipRetry)
	}
	if err := json.Unmarshal(t.Payload(), dst); err != nil {
		return badPayload(want, err.Error())
	}
	return nil
}

func badPayload(typ, why string) error {
	return fmt.Errorf("%w: %s: %s (%w)", ErrBadPayload, typ, why, asynq.SkipRetry)
}
