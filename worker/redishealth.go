package worker

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisurl"
)

// troubleWindow is how long after the last Redis error the worker checks that Redis
// answers before handing a task's outcome back (see awaitRedis).
const troubleWindow = 30 * time.Second

// redisTrouble is a go-redis hook that remembers when the worker's client last met a
// node that was down, so that a healthy Redis costs no extra PING per task.
type redisTrouble struct{ last atomic.Int64 } // unix nanoseconds; 0: never

func (h *redisTrouble) seen(err error) {
	if redisurl.NodeDown(err) {
		h.last.Store(time.Now().UnixNano())
	}
}

// recent reports whether a node was seen down within troubleWindow.
func (h *redisTrouble) recent() bool {
	last := h.last.Load()
	return last != 0 && time.Since(time.Unix(0, last)) < troubleWindow
}

func (h *redisTrouble) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := next(ctx, network, addr)
		h.seen(err)
		return c, err
	}
}

func (h *redisTrouble) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.seen(err)
		return err
	}
}

func (h *redisTrouble) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.seen(err)
		return err
	}
}
