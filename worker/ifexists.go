package worker

import (
	"context"
	"fmt"
	"net/http"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/ledger"
	"github.com/ikq-dev/ikq/tasks"
)

// ExistsError is the failure of a job whose destination holds a file it may not
// replace: ifExists=fail, or a file of another size with overwriteFile=false.
type ExistsError struct {
	Path   string // the file's path in the media library
	Reason string // "" for ifExists=fail
}

func (e *ExistsError) Error() string {
	if e.Reason != "" {
		return e.Path + " already exists " + e.Reason
	}
	return e.Path + " already exists (ifExists is fail)"
}

// existing is what checkExisting decided.
type existing struct {
	// skip is the file to complete the job with instead of uploading; nil uploads.
	skip *imagekit.UploadResult
	// message is the event to record with the outcome ("" for the default).
	message string
}

// checkExisting applies the job's ifExists before its upload. params are the upload's
// parameters, final file name included; it sets OverwriteFile as the mode needs. size
// is the source's size, -1 when unknown (then a file of any size counts as changed).
func (w *Worker) checkExisting(ctx context.Context, job *jobstore.Job, spec *tasks.Upload, params *imagekit.Params, size int64) (existing, error) {
	yes, no := true, false
	mode := spec.IfExists
	switch mode {
	case "":
		return existing{}, nil
	case tasks.IfExistsOverwrite:
		params.OverwriteFile = &yes
		return existing{}, nil
	}
	folder := ledger.CleanFolder(params.Folder)
	name := tasks.CleanFileName(params.FileName)
	p := ledger.JoinPath(folder, name)
	f, err := w.exists.Lookup(ctx, w.ik, spec.Run, folder, name, isRerun(job))
	if err != nil {
		return existing{}, err
	}
	if f == nil {
		// Nothing there: a plain upload. Overwriting stays allowed, so that a file put
		// there since the listing gets a version rather than failing the job, unless
		// the job wants to fail on an existing file.
		if mode == tasks.IfExistsFail {
			params.OverwriteFile = &no
		} else {
			params.OverwriteFile = &yes
		}
		return existing{}, nil
	}
	switch mode {
	case tasks.IfExistsSkip:
		if size >= 0 && f.Size == size {
			return existing{skip: asResult(f), message: fmt.Sprintf("skipped: %s already exists with the same size", p)}, nil
		}
		if spec.OverwriteFile != nil && !*spec.OverwriteFile {
			// The job itself forbids replacing a file: a new version would.
			return existing{}, &ExistsError{Path: p, Reason: fmt.Sprintf("with another size (%d bytes there, %d here), and overwriteFile is false", f.Size, size)}
		}
		params.OverwriteFile = &yes
		return existing{message: fmt.Sprintf("uploaded a new version of %s (its size differed: %d bytes there, %d here)", p, f.Size, size)}, nil
	case tasks.IfExistsVersion:
		params.OverwriteFile = &yes
		return existing{message: "uploaded a new version of " + p}, nil
	default: // fail
		// A re-run meeting the file its own earlier attempt uploaded takes it, as
		// adoptOwnUpload does for overwriteFile=false.
		if isRerun(job) && !f.CreatedAt.Before(job.CreatedAt) {
			return existing{skip: asResult(f), message: "an earlier attempt uploaded " + p}, nil
		}
		return existing{}, &ExistsError{Path: p}
	}
}

// asResult is a stored file as an upload's result.
func asResult(f *imagekit.File) *imagekit.UploadResult {
	return &imagekit.UploadResult{
		Status: http.StatusOK, FileID: f.FileID, Name: f.Name, FilePath: f.FilePath, URL: f.URL,
		FileType: f.FileType, Size: f.Size, Width: f.Width, Height: f.Height,
		VersionInfo: f.VersionInfo, AITags: f.AITags, Raw: f.Raw,
	}
}
