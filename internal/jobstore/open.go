package jobstore

import (
	"context"
	"time"
)

// openStatuses are the statuses of a job that still has a task to run.
var openStatuses = []Status{StatusQueued, StatusActive, StatusRetrying}

// EachOpen calls yield for every job still queued, active or retrying whose last
// write is older than olderThan, oldest first within each status, reading a page at
// a time. It stops at the first error of yield and returns it.
func (s *Store) EachOpen(ctx context.Context, olderThan time.Duration, yield func(*Job) error) error {
	cutoff := s.clock().Add(-olderThan)
	for _, st := range openStatuses {
		cursor := ""
		for {
			jobs, next, err := s.page(ctx, statusKey(st), st, 100, cursor, true, nil)
			if err != nil {
				return err
			}
			for _, j := range jobs {
				if j.UpdatedAt.Before(cutoff) {
					if err := yield(j); err != nil {
						return err
					}
				}
			}
			if next == "" {
				break
			}
			cursor = next
		}
	}
	return nil
}
