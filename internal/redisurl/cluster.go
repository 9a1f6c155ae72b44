package redisurl

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterStateReload bounds how long a cluster client goes on with a slot map no
// error has questioned. go-redis' own default is a minute, longer than a failover.
const clusterStateReload = 5 * time.Second

// newClusterClient returns a cluster client that reloads its slot map as soon as a
// node fails to answer. go-redis reloads it on MOVED and READONLY replies, but a
// master that died answers nothing: without this, commands for its slots go on
// failing after a replica has taken them over, until the next periodic reload.
func newClusterClient(opt *redis.ClusterOptions) *redis.ClusterClient {
	opt.ClusterStateReloadInterval = clusterStateReload
	c := redis.NewClusterClient(opt)
	c.AddHook(slotRefresh{c})
	return c
}

// slotRefresh is the go-redis hook that asks for a new slot map after an error that
// says a node is down or its slots are moving.
type slotRefresh struct{ c *redis.ClusterClient }

func (h slotRefresh) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := next(ctx, network, addr)
		h.check(ctx, err)
		return conn, err
	}
}

func (h slotRefresh) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		h.check(ctx, err)
		return err
	}
}

func (h slotRefresh) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		err := next(ctx, cmds)
		h.check(ctx, err)
		return err
	}
}

func (h slotRefresh) check(ctx context.Context, err error) {
	if NodeDown(err) {
		h.c.ReloadState(ctx) // asynchronous, with go-redis' own cooldown
	}
}

// NodeDown reports whether err says a Redis node is unreachable or that the data it
// served is moving to another node (a failover in progress), rather than that a
// command itself failed.
func NodeDown(err error) bool {
	if err == nil || errors.Is(err, redis.Nil) || errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, redis.ErrClosed) {
		return true
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	// A server's error reply, however deeply wrapped: its first word says whether the
	// node is failing over.
	var re redis.Error
	if !errors.As(err, &re) {
		return false
	}
	msg := re.Error()
	// MOVED and ASK reach a caller that wrote through one node's connection, or
	// that go-redis gave up redirecting: the slot's master changed under it.
	for _, p := range []string{"CLUSTERDOWN", "TRYAGAIN", "LOADING", "READONLY", "MASTERDOWN", "NOREPLICAS", "MOVED ", "ASK "} {
		if strings.HasPrefix(msg, p) {
			return true
		}
	}
	return false
}
