package jobstore

import (
	"context"
	"fmt"
	"time"

	"github.com/oklog/ulid/v2"
	"github.com/redis/go-redis/v9"
)

// openStatuses are the statuses of a job that still has a task to run: a job in one
// of them whose task vanished (archived, or lost with a Redis failover) stays there
// until someone looks.
var openStatuses = []Status{StatusQueued, StatusActive, StatusRetrying}

// EachOpen calls yield with every job queued, active or retrying whose UpdatedAt is
// more than olderThan ago, status by status and shard by shard, oldest first within a
// shard, a page at a time, stopping at yield's first error. It is for a sweeper that
// finds jobs whose task is gone. A job may be yielded in a status it has left since.
//
// A job last updated before the cutoff was created before it, and ids made by NewID
// sort by creation time, so only the ids that sort before the cutoff's are read:
// a job whose id the caller gave (see Create) is found only if its id sorts there.
func (s *Store) EachOpen(ctx context.Context, olderThan time.Duration, yield func(*Job) error) error {
	cutoff := s.clock().Add(-olderThan)
	var u ulid.ULID
	if err := u.SetTime(ulid.Timestamp(cutoff)); err != nil {
		return fmt.Errorf("jobstore: each open job: cutoff %v: %w", cutoff, err)
	}
	below := "(" + u.String()[:10] // the ids of jobs created before cutoff's millisecond
	for _, st := range openStatuses {
		for shard := range Shards {
			if err := s.eachOpenIn(ctx, statusKey(shard, st), st, below, cutoff, yield); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) eachOpenIn(ctx context.Context, index string, st Status, below string, cutoff time.Time, yield func(*Job) error) error {
	bound := "-"
	for {
		ids, err := s.rdb.ZRangeByLex(ctx, index, &redis.ZRangeBy{Min: bound, Max: below, Count: scanPage}).Result()
		if err != nil {
			return fmt.Errorf("jobstore: each open job: %w", err)
		}
		jobs, err := s.fetch(ctx, ids, nil)
		if err != nil {
			return err
		}
		for _, j := range jobs {
			if j.Status != st || !j.UpdatedAt.Before(cutoff) {
				continue
			}
			if err := yield(j); err != nil {
				return err
			}
		}
		if len(ids) < scanPage {
			return nil
		}
		bound = "(" + ids[len(ids)-1]
	}
}
