package bulk

import (
	"context"
	"encoding/json"

	"github.com/ikq-dev/ikq/internal/ledger"
	"github.com/ikq-dev/ikq/tasks"
)

// InPlace is the fast path of a re-run: the items whose destination already holds a
// file of their size, and whose ifExists is skip, are recorded completed with that
// file at once, without a task for a worker to pick up. A re-run of an unchanged tree
// then costs a folder listing per folder and one Redis round trip per batch. Items
// with a callbackUrl are enqueued as usual, so that a worker sends their callback.
type InPlace interface {
	// Find returns the file at folder/name in the media library (folder "/" or
	// "/a/b"), nil when there is none; the listing of a folder is read once a run.
	Find(ctx context.Context, run, folder, name string) (*InPlaceFile, error)
	// RecordSkipped records each job completed with files[i]; one answer per job, in
	// order, whose State is the job as recorded.
	RecordSkipped(ctx context.Context, jobs []tasks.Upload, files []InPlaceFile) []Enqueued
}

// InPlaceFile is a file found at an item's destination.
type InPlaceFile struct {
	FileID, FilePath string
	Size             int64
	Result           json.RawMessage // the file as an upload's answer describes it
}

// inPlaceCandidate reports whether the fast path may decide the item: a known size,
// ifExists skip, the name bulk gives it as is, nothing for a worker to do besides.
func inPlaceCandidate(it *item) bool {
	u := it.job
	return it.size >= 0 && u != nil && u.IfExists == tasks.IfExistsSkip && u.CallbackURL == "" &&
		u.RunAt == nil && u.UseUniqueFileName != nil && !*u.UseUniqueFileName
}

// splitInPlace finds the items of a batch whose file is in place. A listing that
// fails leaves its items to the usual path, where the worker checks again.
func splitInPlace(ctx context.Context, ip InPlace, run string, b []*item) (rest, skip []*item, files []InPlaceFile) {
	for _, it := range b {
		if inPlaceCandidate(it) {
			f, err := ip.Find(ctx, run, ledger.CleanFolder(it.job.Folder), tasks.CleanFileName(it.job.FileName))
			if err == nil && f != nil && f.Size == it.size {
				skip, files = append(skip, it), append(files, *f)
				continue
			}
		}
		rest = append(rest, it)
	}
	return rest, skip, files
}
