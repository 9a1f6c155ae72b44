package bench

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"
)

// redisCost counts, from the client side, the round trips and commands a go-redis
// client sends, by whose keys they touch: ikq's own ("ikq:"), asynq's ("asynq:"),
// or neither (PING, INFO, …).
type redisCost struct {
	mu         sync.Mutex
	roundTrips map[string]int
	commands   map[string]int
}

func newRedisCost() *redisCost {
	return &redisCost{roundTrips: map[string]int{}, commands: map[string]int{}}
}

// owner is whose data cmd touches.
func owner(cmd redis.Cmder) string {
	args := cmd.Args()
	key := ""
	switch strings.ToLower(cmd.Name()) {
	case "eval", "evalsha", "eval_ro", "evalsha_ro", "fcall":
		if len(args) > 3 {
			if n, _ := strconv.Atoi(fmt.Sprint(args[2])); n > 0 {
				key = fmt.Sprint(args[3])
			}
		}
	default:
		if len(args) > 1 {
			key = fmt.Sprint(args[1])
		}
	}
	switch {
	case strings.HasPrefix(key, "ikq:"):
		return "ikq"
	case strings.HasPrefix(key, "asynq:"):
		return "asynq"
	}
	return "other"
}

func (c *redisCost) add(who string, cmds int) {
	c.mu.Lock()
	c.roundTrips[who]++
	c.commands[who] += cmds
	c.mu.Unlock()
}

func (c *redisCost) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) { return next(ctx, network, addr) }
}

func (c *redisCost) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		c.add(owner(cmd), 1)
		return next(ctx, cmd)
	}
}

func (c *redisCost) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if len(cmds) > 0 {
			who := owner(cmds[0])
			if n := strings.ToLower(cmds[0].Name()); n == "multi" && len(cmds) > 1 {
				who = owner(cmds[1])
			}
			c.add(who, len(cmds))
		}
		return next(ctx, cmds)
	}
}

// perJob returns round trips and commands per job of who.
func (c *redisCost) perJob(who string, jobs int) (roundTrips, commands float64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return float64(c.roundTrips[who]) / float64(jobs), float64(c.commands[who]) / float64(jobs)
}

// serverCPU is the CPU time redis-server has used, in seconds (INFO cpu).
func serverCPU(tb testing.TB, rdb redis.UniversalClient) float64 {
	tb.Helper()
	info, err := rdb.Info(context.Background(), "cpu").Result()
	if err != nil {
		tb.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\r\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return total
}

// serverCommands is the number of commands redis-server has run, those run by Lua
// scripts included (INFO commandstats).
func serverCommands(tb testing.TB, rdb redis.UniversalClient) float64 {
	tb.Helper()
	var total float64
	for _, calls := range serverCommandStats(tb, rdb) {
		total += calls
	}
	return total
}

// serverMemory is the memory redis-server holds for data, in bytes (INFO memory
// used_memory).
func serverMemory(tb testing.TB, rdb redis.UniversalClient) float64 {
	tb.Helper()
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	tb.Fatal("INFO memory has no used_memory")
	return 0
}

// jobCost is what Redis did per job.
type jobCost struct {
	ikqRT, ikqCmds, asynqRT, asynqCmds, otherCmds, serverCPUms, serverCmds float64
}
