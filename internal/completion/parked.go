package completion

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/jobstore"
)

// parkedKey holds the item statuses reported for an ImageKit file before any job had
// recorded it (HASH item → status). It lives in the file's shard of the job store,
// with the file's lookup.
func parkedKey(fileID string) string { return jobstore.SpreadKey("parked", fileID) }

// parkScript merges ARGV[2] into item ARGV[1] of the parked hash KEYS[1] by the rank
// of Merge, in one step so that concurrent parks merge correctly, and keeps the hash
// ARGV[3] ms. It answers {1 if the value changed else 0, the value}.
var parkScript = redis.NewScript(`
local rank = {` + luaRank() + `}
local old = redis.call('HGET', KEYS[1], ARGV[1])
local changed = 0
if not old or (rank[ARGV[2]] or 0) > (rank[old] or 0) then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
  changed = 1
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {changed, redis.call('HGET', KEYS[1], ARGV[1])}`)

// unparkScript deletes the items of KEYS[1] that still have the values given
// (ARGV: item, value, item, value, …): an item parked again meanwhile stays.
var unparkScript = redis.NewScript(`
local n = 0
for i = 1, #ARGV, 2 do
  if redis.call('HGET', KEYS[1], ARGV[i]) == ARGV[i+1] then
    n = n + redis.call('HDEL', KEYS[1], ARGV[i])
  end
end
return n`)

// luaRank writes the rank order of Merge as the fields of a Lua table.
func luaRank() string {
	var fields []string
	for _, s := range slices.Sorted(maps.Keys(rank)) {
		fields = append(fields, fmt.Sprintf("[%q]=%d", s, rank[s]))
	}
	return strings.Join(fields, ",")
}

// ApplyForFile is ApplyItem for the job that uploaded fileID. When no job has recorded
// the file yet, the status is parked for Deadline, merged with any parked before, and
// RecordUpload applies it; changed then says whether the parked value changed.
func (t *Tracker) ApplyForFile(ctx context.Context, fileID, item, status string) (changed bool, err error) {
	st, ok := parseStatus(status)
	if !ok {
		return false, fmt.Errorf("completion: file %s: item %q: unknown status %q", fileID, item, status)
	}
	if fileID == "" || item == "" {
		return false, fmt.Errorf("completion: apply for file: need a file id and an item (got %q, %q)", fileID, item)
	}
	id, err := t.store.JobForFile(ctx, fileID)
	switch {
	case err == nil:
		changed, err := t.ApplyItem(ctx, id, item, st)
		if !errors.Is(err, ErrUnknownJob) {
			return changed, err
		}
		// The job expired after its mapping was read: keep the event like any other.
	case !errors.Is(err, jobstore.ErrNotFound):
		return false, fmt.Errorf("completion: apply for file %s: %w", fileID, err)
	}

	res, err := parkScript.Run(ctx, t.rdb, []string{parkedKey(fileID)}, item, st, max(t.deadline.Milliseconds(), 1)).Slice()
	if err != nil {
		return false, fmt.Errorf("completion: park status of file %s: %w", fileID, err)
	}
	if len(res) != 2 {
		return false, fmt.Errorf("completion: park status of file %s: unexpected reply %v", fileID, res)
	}
	parkedChanged, _ := res[0].(int64)
	value, _ := res[1].(string)
	changed = parkedChanged == 1
	t.log.Info("item status parked: no job has recorded the file yet", "file_id", fileID, "item", item, "status", value)

	// RecordUpload may have recorded the file between the look-up above and the park,
	// after its last look at the parked events: look again, or the event is lost.
	id, err = t.store.JobForFile(ctx, fileID)
	if errors.Is(err, jobstore.ErrNotFound) {
		return changed, nil
	}
	if err != nil {
		return changed, fmt.Errorf("completion: apply for file %s: %w", fileID, err)
	}
	applied, err := t.ApplyItem(ctx, id, item, value)
	if errors.Is(err, ErrUnknownJob) {
		return changed, nil
	}
	if err != nil {
		return changed, err
	}
	if err := t.unpark(ctx, fileID, map[string]string{item: value}); err != nil {
		return changed || applied, err
	}
	return changed || applied, nil
}

// unpark deletes the parked items that still have the values of applied.
func (t *Tracker) unpark(ctx context.Context, fileID string, applied map[string]string) error {
	if len(applied) == 0 {
		return nil
	}
	args := make([]any, 0, 2*len(applied))
	for item, s := range applied {
		args = append(args, item, s)
	}
	if err := unparkScript.Run(ctx, t.rdb, []string{parkedKey(fileID)}, args...).Err(); err != nil {
		return fmt.Errorf("completion: delete parked statuses of file %s: %w", fileID, err)
	}
	return nil
}

// applyParked runs after RecordUpload's write: it applies the statuses parked for the
// file before the file was the job's (read with the write), and deletes them. It
// returns the job as it stands afterwards.
func (t *Tracker) applyParked(ctx context.Context, job *jobstore.Job, fileID string, parked map[string]string) (*jobstore.Job, error) {
	if len(parked) == 0 {
		return job, nil
	}
	for item, s := range parked {
		if _, err := t.ApplyItem(ctx, job.ID, item, s); err != nil {
			return job, err
		}
	}
	if err := t.unpark(ctx, fileID, parked); err != nil {
		return job, err
	}
	latest, err := t.store.Get(ctx, job.ID)
	if err != nil {
		return job, t.jobError("read", job.ID, err)
	}
	return latest, nil
}
