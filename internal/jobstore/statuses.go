package jobstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// Statuses returns the status of each job of ids that exists, in one round trip
// per node: what a worker needs to notice, for all its running uploads at once,
// which were canceled.
func (s *Store) Statuses(ctx context.Context, ids []string) (map[string]Status, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	pipe := s.rdb.Pipeline()
	cmds := make([]*redis.StringCmd, len(ids))
	for i, id := range ids {
		cmds[i] = pipe.HGet(ctx, jobKey(id), "status")
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("jobstore: read statuses: %w", err)
	}
	out := make(map[string]Status, len(ids))
	for i, cmd := range cmds {
		if st, err := cmd.Result(); err == nil {
			out[ids[i]] = Status(st)
		}
	}
	return out, nil
}
