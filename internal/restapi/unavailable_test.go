package restapi

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"

	"github.com/ikq-dev/ikq/tasks"
)

// replyErr is an error reply of a Redis server, as go-redis returns it.
type replyErr string

func (e replyErr) Error() string { return string(e) }
func (replyErr) RedisError()     {}

// TestUnavailableIs503 holds the errors of a Redis failover to 503 (retry), not 500.
func TestUnavailableIs503(t *testing.T) {
	t.Parallel()
	for _, err := range []error{
		fmt.Errorf("producer: recording job: jobstore: write job x: %w", replyErr("CLUSTERDOWN The cluster is down")),
		fmt.Errorf("producer: recording job: %w", &net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}),
		fmt.Errorf("producer: queueing job: %w: %w", tasks.ErrQueueUnavailable, errors.New("UNKNOWN: redis eval error: LOADING")),
		fmt.Errorf("producer: recording job: %w", tasks.ErrNotReplicated),
		fmt.Errorf("wrapped: %w", replyErr("NOREPLICAS Not enough good replicas to write.")),
	} {
		if !unavailable(err) {
			t.Errorf("unavailable(%v) = false: the API would answer 500", err)
		}
	}
	for _, err := range []error{errors.New("boom"), replyErr("ERR syntax error"), tasks.ErrNotFound} {
		if unavailable(err) {
			t.Errorf("unavailable(%v) = true, want a plain error", err)
		}
	}
}
