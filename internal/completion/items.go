package completion

import (
	"context"
	"strings"
)

// Statuses of a job's items (extensions and post-transformations), as the job record
// shows them in its "extensions" map.
const (
	Pending = "pending"
	Success = "success"
	Failed  = "failed"
	// Unknown is given to an item still pending at the deadline: ImageKit retries its
	// webhooks for 24 hours, so after that no answer will come.
	Unknown = "unknown"
)

// rank orders statuses so that merging is commutative and idempotent: the higher one
// wins whatever the order events arrive in, a final status never returns to pending,
// and a real answer that arrives after the deadline replaces unknown.
var rank = map[string]int{Pending: 0, Unknown: 1, Success: 2, Failed: 3}

// Merge returns the status an item has after seeing status b when it had a.
func Merge(a, b string) string {
	if rank[b] > rank[a] {
		return b
	}
	return a
}

// IsFinal reports whether an item's status is final.
func IsFinal(s string) bool { return s == Success || s == Failed || s == Unknown }

// PreTransformItem is the item of a video pre-transformation that ImageKit queued (202).
const PreTransformItem = "pre-transformation"

// PostTransformItem names a post-transformation item from its type, value and
// protocol, as the upload request and the upload.post-transform.* events carry them.
func PostTransformItem(typ, value, protocol string) string {
	parts := []string{"post-transformation", typ}
	if value != "" {
		parts = append(parts, value)
	}
	if protocol != "" {
		parts = append(parts, protocol)
	}
	return strings.Join(parts, ":")
}

// StatusFromWebhook maps ImageKit's webhook status (SUCCESS, FAILURE) to an item status.
func StatusFromWebhook(s string) (string, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "SUCCESS":
		return Success, true
	case "FAILURE", "FAILED", "ERROR":
		return Failed, true
	}
	return "", false
}

// Merger records the final statuses webhooks report. The webhook receiver uses it;
// Tracker implements it.
type Merger interface {
	// ApplyItem merges status into the job's item. It is safe to call before the
	// worker has recorded the upload: the status is kept and counts when it does.
	// changed is false for a duplicate. ErrUnknownJob when there is no such job.
	ApplyItem(ctx context.Context, jobID, item, status string) (changed bool, err error)
	// ApplyForFile is ApplyItem for events that name an ImageKit fileId (account
	// events). An event for a file no job has recorded yet is kept and applied when
	// one does.
	ApplyForFile(ctx context.Context, fileID, item, status string) (changed bool, err error)
}
