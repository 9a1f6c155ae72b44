package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/tasks"
)

// handleUpload runs one attempt of an upload job.
func (w *Worker) handleUpload(ctx context.Context, t *asynq.Task) error {
	start := w.cfg.Now()
	p, err := tasks.ParseUploadTask(t)
	if err != nil {
		return fmt.Errorf("%w: %w", err, asynq.SkipRetry)
	}
	retried, _ := asynq.GetRetryCount(ctx)
	maxRetry, _ := asynq.GetMaxRetry(ctx)
	attempt := retried + 1
	log := w.log.With("job_id", p.JobID, "attempt", attempt)

	last := retried >= maxRetry
	// The spec is read and the job made active in one step: a spec that does not
	// decode stops the step before anything is written.
	var (
		job     *jobstore.Job
		spec    *tasks.Upload
		specErr error
	)
	err = w.beforeUpload(ctx, last, func(ctx context.Context) (err error) {
		job, err = w.store.Start(ctx, p.JobID, jobstore.StatusActive,
			fmt.Sprintf("attempt %d of %d", attempt, maxRetry+1), func(j *jobstore.Job, raw json.RawMessage) error {
				if spec, specErr = tasks.Decode(raw); specErr != nil {
					return errInvalidSpec
				}
				j.Attempts = attempt
				j.NextAttemptAt = nil
				return nil
			})
		return err
	})
	switch {
	case errors.Is(err, jobstore.ErrNotFound):
		log.Warn("job not found: its record expired or was deleted; dropping the task")
		return fmt.Errorf("job %s not found: %w", p.JobID, asynq.SkipRetry)
	case errors.Is(err, errInvalidSpec):
		err = w.finish(ctx, p.JobID, log, failure{kind: permanent, code: "invalid_job", message: specErr.Error(), err: specErr}, false)
		w.observeAttempt(ctx, start, metrics.OutcomeFailed, 0)
		return err
	case errors.Is(err, jobstore.ErrIllegalTransition):
		// Canceled, or already uploaded or finished by an earlier run: nothing to do.
		log.Info("job needs no upload", "err", err)
		return nil
	case err != nil:
		return err // Redis trouble: asynq tries again
	}

	ctx, stop := w.watchCancel(ctx, job.ID)
	defer stop()
	for {
		res, ex, err := w.upload(ctx, job, spec)
		if err != nil && isRerun(job) {
			// An earlier run may have uploaded the file and stopped before recording
			// it: with overwriteFile=false that upload now conflicts with itself.
			if own, ok := w.adoptOwnUpload(ctx, job, spec, err, log); ok {
				res, err = own, nil
			}
		}
		if err == nil {
			to, err := w.recordUpload(ctx, job, spec, res, ex, log)
			if err == nil {
				w.observeAttempt(ctx, start, uploadOutcome(to), res.Size)
			}
			return err
		}
		f := w.classifyAttempt(ctx, err, spec)
		if f.kind == throttled && retried >= maxRetry {
			// asynq archives a task whose retries are used up, whatever IsFailure
			// says, so the last attempt waits out a throttle itself.
			werr := w.waitThrottled(ctx, job.ID, f, attempt, maxRetry, log)
			if werr == nil {
				continue
			}
			if errors.Is(werr, jobstore.ErrIllegalTransition) {
				log.Info("job needs no upload", "err", werr) // canceled while waiting
				return nil
			}
			f = w.classifyAttempt(ctx, werr, spec)
		}
		if f.kind != canceled && errors.Is(ctx.Err(), context.Canceled) && w.stopping.Load() {
			return w.pushedBack(ctx, job.ID, log)
		}
		err = w.finishFailure(ctx, job, f, retried, maxRetry, log)
		w.observeAttempt(ctx, start, failureOutcome(f, retried, maxRetry), 0)
		return err
	}
}

// errInvalidSpec stops the start of an attempt whose job spec does not decode.
var errInvalidSpec = errors.New("invalid job spec")

// classifyAttempt classifies a failed attempt; a job canceled meanwhile is canceled
// whatever the error says.
func (w *Worker) classifyAttempt(ctx context.Context, err error, spec *tasks.Upload) failure {
	f := classify(err, spec.FetchMode() == "remote")
	if errors.Is(context.Cause(ctx), errCanceledByProducer) {
		f = failure{kind: canceled}
	}
	f.err = err
	return f
}

// waitThrottled waits out a throttled answer within the attempt, recording the wait,
// and marks the job active again. It returns ctx's cause when ctx ends first, and an
// ErrIllegalTransition when the job was canceled meanwhile.
func (w *Worker) waitThrottled(ctx context.Context, id string, f failure, attempt, maxRetry int, log *slog.Logger) error {
	next := w.cfg.Now().Add(f.wait).UTC()
	jobErr := &jobstore.JobError{Code: f.code, Message: f.message, Retryable: true, HTTPStatus: f.httpStatus}
	if _, err := w.store.Transition(ctx, id, jobstore.StatusRetrying, f.waitReason()+"; waiting "+f.wait.String(), func(j *jobstore.Job) error {
		j.Error, j.NextAttemptAt = jobErr, &next
		return nil
	}); err != nil {
		return err
	}
	log.Warn("throttled on the last attempt; waiting", "code", f.code, "err", f.err, "delay", f.wait)
	t := time.NewTimer(f.wait)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return context.Cause(ctx)
	case <-t.C:
	}
	_, err := w.store.Transition(ctx, id, jobstore.StatusActive, fmt.Sprintf("attempt %d of %d", attempt, maxRetry+1), func(j *jobstore.Job) error {
		j.NextAttemptAt = nil
		return nil
	})
	return err
}

// errNotRunning stops pushedBack from touching a job that is no longer running.
var errNotRunning = errors.New("job is not running")

// pushedBack records an attempt cut short by the worker's shutdown: asynq has put
// the task back in the queue, and it runs again without using an attempt.
func (w *Worker) pushedBack(ctx context.Context, id string, log *slog.Logger) error {
	_, err := w.store.Transition(context.WithoutCancel(ctx), id, jobstore.StatusQueued,
		"the worker stopped before the upload finished; back in the queue", func(j *jobstore.Job) error {
			if j.Status != jobstore.StatusActive && j.Status != jobstore.StatusRetrying {
				return errNotRunning // canceled meanwhile: it stays canceled
			}
			j.NextAttemptAt = nil
			return nil
		})
	if err != nil && !errors.Is(err, errNotRunning) && !errors.Is(err, jobstore.ErrIllegalTransition) {
		log.Warn("recording the push back failed", "err", err)
	}
	log.Info("upload interrupted by shutdown; the task is back in the queue")
	return ctx.Err()
}

// upload opens the source and streams it to the Upload API, unless the job's
// ifExists finds the file already there (see checkExisting).
func (w *Worker) upload(ctx context.Context, job *jobstore.Job, spec *tasks.Upload) (*imagekit.UploadResult, existing, error) {
	release, err := w.uploadPlace(ctx)
	if err != nil {
		return nil, existing{}, err
	}
	defer release()
	params, err := uploadParams(job.ID, spec)
	if err != nil {
		return nil, existing{}, err
	}
	// ImageKit reports pending extensions to ikq's receiver, which records them and
	// passes each event on to the job's own webhookUrl.
	if w.cfg.WebhookURL != nil && (len(spec.Extensions) > 0 || spec.WebhookURL != "") {
		params.WebhookURL = w.cfg.WebhookURL(job.ID)
	}
	req := imagekit.UploadRequest{}
	size := int64(-1)
	if spec.FetchMode() == "remote" {
		req.FileText = spec.File
	} else {
		opened := w.cfg.Now()
		src, err := w.sources.Open(ctx, spec.File)
		w.observeFetch(spec.File, opened, err)
		if err != nil {
			return nil, existing{}, err
		}
		defer func() { _ = src.Body.Close() }()
		req.File, req.ContentType, size = src.Body, src.ContentType, src.Size
	}
	ex, err := w.checkExisting(ctx, job, spec, &params, size)
	if err != nil || ex.skip != nil {
		return ex.skip, ex, err
	}
	req.Params = params
	res, err := w.ik.Upload(ctx, req)
	return res, ex, err
}

// uploadParams maps a job spec to the Upload API's parameters. A unique file name is
// made here, from the job id, so every run of the job uploads to the same path.
func uploadParams(jobID string, u *tasks.Upload) (imagekit.Params, error) {
	p := imagekit.Params{
		FileName:                u.FileName,
		UseUniqueFileName:       u.UseUniqueFileName,
		Tags:                    u.Tags,
		Folder:                  u.Folder,
		IsPrivateFile:           u.IsPrivateFile,
		IsPublished:             u.IsPublished,
		CustomCoordinates:       u.CustomCoordinates,
		ResponseFields:          u.ResponseFields,
		WebhookURL:              u.WebhookURL,
		OverwriteFile:           u.OverwriteFile,
		OverwriteAITags:         u.OverwriteAITags,
		OverwriteTags:           u.OverwriteTags,
		OverwriteCustomMetadata: u.OverwriteCustomMetadata,
		Checks:                  u.Checks,
		Description:             u.Description,
	}
	if u.UseUniqueFileName == nil || *u.UseUniqueFileName {
		no, yes := false, true
		p.FileName = UniqueName(tasks.CleanFileName(u.FileName), jobID)
		p.UseUniqueFileName, p.OverwriteFile = &no, &yes
	}
	var err error
	if len(u.Extensions) > 0 {
		if p.Extensions, err = json.Marshal(u.Extensions); err != nil {
			return p, err
		}
	}
	if u.CustomMetadata != nil {
		if p.CustomMetadata, err = json.Marshal(u.CustomMetadata); err != nil {
			return p, err
		}
	}
	if u.Transformation != nil {
		if p.Transformation, err = json.Marshal(u.Transformation); err != nil {
			return p, err
		}
	}
	return p, nil
}

// UniqueName inserts a unique suffix in ImageKit's own shape (_ and 9 letters and
// digits, before the extension), derived from the job id so that it is the same on
// every run of the job.
func UniqueName(name, jobID string) string {
	return tasks.SuffixedName(name, "ikq-unique-suffix\x00"+jobID)
}

// recordUpload stores the API's answer through the completion tracker: the job is
// completed, or uploaded while some of its items (extensions, transformations) are
// pending. Statuses that webhooks reported before this are kept.
func (w *Worker) recordUpload(ctx context.Context, job *jobstore.Job, spec *tasks.Upload, res *imagekit.UploadResult, ex existing, log *slog.Logger) (jobstore.Status, error) {
	// The asset exists: record it even if the attempt's ctx ended, and while job
	// state is failing over, wait for it up to the task's own deadline rather than
	// fail the attempt and upload again.
	deadline, hasDeadline := ctx.Deadline()
	ctx = context.WithoutCancel(ctx)
	if hasDeadline {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	items := map[string]string{}
	// A file kept as it was (ifExists) had its extensions run when it was uploaded:
	// nothing will report them for this job.
	if ex.skip == nil {
		for _, e := range spec.Extensions {
			items[e.Name] = completion.Pending
		}
		if t := spec.Transformation; t != nil && w.cfg.TrackTransformations {
			for _, p := range t.Post {
				items[completion.PostTransformItem(p.Type, p.Value, p.Protocol)] = completion.Pending
			}
		}
		for name, status := range res.ExtensionStatus {
			items[name] = status
		}
		if res.Status == http.StatusAccepted {
			items[completion.PreTransformItem] = completion.Pending
		}
	}
	var stored *jobstore.Job
	err := w.withState(ctx, 0, func(ctx context.Context) (err error) {
		stored, err = w.tracker.RecordUpload(ctx, job.ID, completion.Upload{
			Result: res.Raw, FileID: res.FileID, FilePath: res.FilePath, Items: items, Message: ex.message,
		})
		if stored != nil && stateDown(err) {
			return fmt.Errorf("follow-up: %w", errStateUnavailable) // recorded: not again here
		}
		return err
	})
	if err != nil && stored == nil {
		log.Error("recording the upload failed", "file_id", res.FileID, "err", err)
		return "", err
	}
	if err != nil {
		// The upload is recorded; queueing its deadline or callback failed.
		log.Warn("recorded the upload, but its follow-up failed; retrying it", "err", err)
		if stored, err = w.tracker.RecordUpload(ctx, job.ID, completion.Upload{
			Result: res.Raw, FileID: res.FileID, FilePath: res.FilePath, Items: items, Message: ex.message,
		}); err != nil && stored == nil {
			return "", err
		}
	}
	log.Info("uploaded", "file_id", res.FileID, "file_path", res.FilePath, "status", stored.Status)
	return stored.Status, nil
}

// finishFailure records a failed attempt and tells asynq what to do next.
func (w *Worker) finishFailure(ctx context.Context, job *jobstore.Job, f failure, retried, maxRetry int, log *slog.Logger) error {
	ctx = context.WithoutCancel(ctx)
	jobErr := &jobstore.JobError{Code: f.code, Message: f.message, Retryable: f.kind != permanent, HTTPStatus: f.httpStatus}
	switch {
	case f.kind == canceled:
		log.Info("upload stopped: the job was canceled")
		return nil
	case f.kind == permanent:
		return w.finish(ctx, job.ID, log, f, true)
	case f.kind == transient && retried >= maxRetry:
		f.message = fmt.Sprintf("gave up after %d attempts: %s", retried+1, f.message)
		return w.finish(ctx, job.ID, log, f, true)
	}
	delay := f.wait
	msg := f.waitReason() + "; waiting " + delay.String()
	if f.kind == transient {
		delay = retryDelay(retried, w.cfg.RetryBase, w.cfg.RetryMax, w.rand)
		msg = fmt.Sprintf("attempt failed (%s: %s); retrying in %s", f.code, f.message, delay.Round(time.Second))
	}
	next := w.cfg.Now().Add(delay).UTC()
	if _, err := w.store.Transition(ctx, job.ID, jobstore.StatusRetrying, msg, func(j *jobstore.Job) error {
		j.Error, j.NextAttemptAt = jobErr, &next
		return nil
	}); err != nil && !errors.Is(err, jobstore.ErrIllegalTransition) {
		log.Warn("recording the retry failed", "err", err)
	}
	log.Warn("attempt failed; retrying", "code", f.code, "err", f.err, "delay", delay)
	// asynq keeps the message as the task's last error, which the sweeper may copy
	// into the record: the record's own, cleaned, message.
	return &delayedError{after: delay, throttled: f.kind == throttled, msg: f.message, err: f.err}
}

// finish marks the job failed for good and tells asynq not to retry. running says
// this attempt had made the job active: if it is neither active nor retrying now,
// it was canceled and retried by the producer meanwhile (a queued job may move to
// failed), and its new run decides its fate, not this stale attempt.
func (w *Worker) finish(ctx context.Context, id string, log *slog.Logger, f failure, running bool) error {
	ctx = context.WithoutCancel(ctx)
	jobErr := &jobstore.JobError{Code: f.code, Message: f.message, Retryable: f.kind != permanent, HTTPStatus: f.httpStatus}
	job, err := w.store.Transition(ctx, id, jobstore.StatusFailed, f.message, func(j *jobstore.Job) error {
		if running && j.Status != jobstore.StatusActive && j.Status != jobstore.StatusRetrying {
			return errNotRunning
		}
		j.Error, j.NextAttemptAt = jobErr, nil
		return nil
	})
	if errors.Is(err, errNotRunning) {
		log.Info("attempt failed, but the job is no longer running; leaving it", "code", f.code, "err", f.err)
		return fmt.Errorf("%s: %w", f.message, asynq.SkipRetry)
	}
	if err != nil && !errors.Is(err, jobstore.ErrIllegalTransition) {
		log.Error("recording the failure failed", "err", err)
		return err
	}
	if job != nil {
		if err := w.tracker.Finished(ctx, job); err != nil {
			log.Error("queueing the callback failed", "err", err)
			return err // asynq runs this again; the failure is recorded, so it only queues the callback
		}
	}
	log.Warn("job failed", "code", f.code, "err", f.err)
	return fmt.Errorf("%s: %w", f.message, asynq.SkipRetry)
}

// isRerun reports whether the job ran before this attempt: its timeline has an
// earlier active event than the one this attempt just added.
func isRerun(job *jobstore.Job) bool {
	n := 0
	for _, e := range job.Events {
		if e.State == jobstore.StatusActive {
			n++
		}
	}
	return n > 1
}

// adoptOwnUpload handles a conflict met by a re-run of a job that asked for
// overwriteFile=false: it asks the files API for the file at the job's path and takes
// it as this job's upload when it was created after the job was (so not by anyone
// before it). There is no allowance for clock skew: a skewed clock makes a re-run
// fail with the conflict rather than take someone else's file. Anything else leaves
// the conflict as it is.
//
// The files API does not report extension statuses, so they are read from what it
// does show: see adoptedExtensionStatus.
func (w *Worker) adoptOwnUpload(ctx context.Context, job *jobstore.Job, spec *tasks.Upload, err error, log *slog.Logger) (*imagekit.UploadResult, bool) {
	var ik *imagekit.Error
	if !errors.As(err, &ik) || !ik.Conflict() {
		return nil, false
	}
	name := tasks.CleanFileName(spec.FileName)
	folder := "/" + strings.Trim(spec.Folder, "/")
	files, lerr := w.ik.ListFiles(ctx, imagekit.ListParams{Path: folder, Name: name})
	if lerr != nil {
		log.Warn("checking whether the conflicting file is this job's failed", "err", lerr)
		return nil, false
	}
	want := strings.TrimSuffix(folder, "/") + "/" + name
	for _, f := range files {
		if f.FilePath != want || f.CreatedAt.Before(job.CreatedAt) {
			continue
		}
		log.Info("the file at the job's path is the one an earlier run uploaded; taking it", "file_id", f.FileID)
		return &imagekit.UploadResult{
			Status: http.StatusOK, FileID: f.FileID, Name: f.Name, FilePath: f.FilePath, URL: f.URL,
			FileType: f.FileType, Size: f.Size, Width: f.Width, Height: f.Height,
			VersionInfo: f.VersionInfo, AITags: f.AITags, ExtensionStatus: adoptedExtensionStatus(spec, f), Raw: f.Raw,
		}, true
	}
	return nil, false
}

// adoptedExtensionStatus is what an adopted file's details say about the job's
// extensions. An auto-tagging extension whose AITags are on the file has succeeded:
// ImageKit may finish tagging within the upload request and then sends no webhook,
// so waiting for one would end at the deadline. Every other extension is left out,
// so recordUpload keeps it pending until its webhook (which ImageKit sends for the
// earlier run's upload as for any other) or the deadline; a status a webhook already
// reported is kept by the tracker either way.
func adoptedExtensionStatus(spec *tasks.Upload, f imagekit.File) map[string]string {
	out := map[string]string{}
	for _, e := range spec.Extensions {
		if e.Name != "google-auto-tagging" && e.Name != "aws-auto-tagging" {
			continue
		}
		for _, t := range f.AITags {
			if t.Source == e.Name {
				out[e.Name] = "success"
				break
			}
		}
	}
	return out
}
