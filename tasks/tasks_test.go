package tasks_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/tasks"
)

func TestUploadTask(t *testing.T) {
	t.Parallel()
	task, err := tasks.NewUploadTask("job_01", asynq.Queue(tasks.QueueCritical))
	if err != nil {
		t.Fatal(err)
	}
	if task.Type() != tasks.TypeUpload || string(task.Payload()) != `{"jobId":"job_01"}` {
		t.Fatalf("task %q %s", task.Type(), task.Payload())
	}
	p, err := tasks.ParseUploadTask(task)
	if err != nil || p.JobID != "job_01" {
		t.Fatalf("ParseUploadTask = %+v, %v", p, err)
	}
	if _, err := tasks.NewUploadTask(""); err == nil {
		t.Error("NewUploadTask accepted an empty job id")
	}
}

func TestCallbackTask(t *testing.T) {
	t.Parallel()
	for _, ev := range []string{tasks.EventCompleted, tasks.EventFailed, tasks.EventCanceled} {
		task, err := tasks.NewCallbackTask("job_02", ev)
		if err != nil {
			t.Fatal(err)
		}
		p, err := tasks.ParseCallbackTask(task)
		if err != nil || p != (tasks.CallbackPayload{JobID: "job_02", Event: ev}) {
			t.Fatalf("ParseCallbackTask = %+v, %v", p, err)
		}
	}
	if _, err := tasks.NewCallbackTask("job_02", "uploaded"); err == nil {
		t.Error("NewCallbackTask accepted event uploaded")
	}
	if _, err := tasks.NewCallbackTask("", tasks.EventFailed); err == nil {
		t.Error("NewCallbackTask accepted an empty job id")
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		parse func(*asynq.Task) error
		task  *asynq.Task
		want  error
	}{
		{"upload: callback task", parseUpload, asynq.NewTask(tasks.TypeCallback, []byte(`{"jobId":"j","event":"failed"}`)), tasks.ErrWrongType},
		{"upload: nil task", parseUpload, nil, tasks.ErrWrongType},
		{"upload: not JSON", parseUpload, asynq.NewTask(tasks.TypeUpload, []byte(`job_01`)), tasks.ErrBadPayload},
		{"upload: wrong JSON type", parseUpload, asynq.NewTask(tasks.TypeUpload, []byte(`{"jobId":1}`)), tasks.ErrBadPayload},
		{"upload: no job id", parseUpload, asynq.NewTask(tasks.TypeUpload, []byte(`{}`)), tasks.ErrBadPayload},
		{"callback: upload task", parseCallback, asynq.NewTask(tasks.TypeUpload, []byte(`{"jobId":"j"}`)), tasks.ErrWrongType},
		{"callback: empty payload", parseCallback, asynq.NewTask(tasks.TypeCallback, nil), tasks.ErrBadPayload},
		{"callback: no job id", parseCallback, asynq.NewTask(tasks.TypeCallback, []byte(`{"event":"failed"}`)), tasks.ErrBadPayload},
		{"callback: unknown event", parseCallback, asynq.NewTask(tasks.TypeCallback, []byte(`{"jobId":"j","event":"done"}`)), tasks.ErrBadPayload},
	} {
		err := c.parse(c.task)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if !errors.Is(err, asynq.SkipRetry) {
			t.Errorf("%s: err = %v does not match asynq.SkipRetry", c.name, err)
		}
	}
	// Fields added by a newer producer do not break an older worker.
	if p, err := tasks.ParseUploadTask(asynq.NewTask(tasks.TypeUpload, []byte(`{"jobId":"j","trace":"x"}`))); err != nil || p.JobID != "j" {
		t.Errorf("extra payload field: %+v %v", p, err)
	}
}

func parseUpload(t *asynq.Task) error   { _, err := tasks.ParseUploadTask(t); return err }
func parseCallback(t *asynq.Task) error { _, err := tasks.ParseCallbackTask(t); return err }

func Example() {
	body := []byte(`{"file": "https://example.com/cat.jpg?sig=s3cret", "fileName": "cat.jpg", "tags": "pets, cats"}`)
	job, err := tasks.Decode(body)
	if err != nil {
		panic(err)
	}
	if err := job.Validate(tasks.ValidateOptions{}); err != nil {
		panic(err)
	}
	fmt.Println(job.Tags, job.QueueName(), job.Attempts(), job.SourceKind())
	fmt.Println(job.Redacted().File)

	task, _ := tasks.NewUploadTask("job_01", asynq.Queue(job.QueueName()), asynq.MaxRetry(job.Attempts()-1))
	p, _ := tasks.ParseUploadTask(task)
	fmt.Println(task.Type(), p.JobID)
	// Output:
	// [pets cats] default 10 url
	// https://example.com/cat.jpg?sig=REDACTED
	// ikq:upload job_01
}

func ExampleUpload_Validate() {
	job, _ := tasks.Decode([]byte(`{"file": "ftp://example.com/a.jpg", "fileName": "a.jpg", "tags": ["sale%"], "maxAttempts": 99}`))
	err := job.Validate(tasks.ValidateOptions{})
	var ve *tasks.ValidationError
	if errors.As(err, &ve) {
		for _, p := range ve.Problems {
			fmt.Printf("%s: %s\n", p.Field, p.Message)
		}
	}
	// Output:
	// file: file uses the scheme ftp, which is not allowed here; use one of azblob, base64, data, gs, http, https, s3.
	// tags[0]: tags[0] must not contain %.
	// maxAttempts: maxAttempts must be between 1 and 50, or 0 for the default (10); it is 99.
}

func ExampleDecode() {
	_, err := tasks.Decode([]byte(`{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "extensions": "[{\"name\": \"remove-bg\"", "size": 1}`))
	fmt.Println(err)
	_, err = tasks.Decode([]byte(`{"file": "https://example.com/a.jpg", "fileName": "a.jpg", "tags": 7}`))
	fmt.Println(err)
	// Output:
	// extensions: the string does not hold valid JSON: unexpected end of JSON input; want an array of extensions, or a string holding one
	// tags: want an array of strings or a comma-separated string
}

func TestDeadlineAndRelayTasks(t *testing.T) {
	d, err := tasks.NewDeadlineTask("job1")
	if err != nil {
		t.Fatal(err)
	}
	if p, err := tasks.ParseDeadlineTask(d); err != nil || p.JobID != "job1" {
		t.Fatalf("ParseDeadlineTask = %+v, %v", p, err)
	}
	r, err := tasks.NewRelayTask("job1", []byte(`{"service":"remove-bg","status":"SUCCESS"}`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := tasks.ParseRelayTask(r)
	if err != nil || p.JobID != "job1" || string(p.Body) != `{"service":"remove-bg","status":"SUCCESS"}` {
		t.Fatalf("ParseRelayTask = %+v, %v", p, err)
	}
	if _, err := tasks.NewRelayTask("job1", []byte("not json")); err == nil {
		t.Fatal("NewRelayTask accepted a body that is not JSON")
	}
	if _, err := tasks.ParseRelayTask(d); !errors.Is(err, tasks.ErrWrongType) {
		t.Fatalf("ParseRelayTask of a deadline task: %v", err)
	}
}
