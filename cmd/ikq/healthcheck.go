package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/hibiken/asynq"

	"github.com/ikq-dev/ikq/internal/redisurl"
)

const healthcheckUsage = "usage: ikq healthcheck [-timeout 3s] [-redis-url URL] URL|worker"

// runHealthcheck is for container health checks, where there is no shell and no curl:
// exit 0 when the target is healthy, 1 when it is not, 2 for bad usage.
//
//	ikq healthcheck URL      GET URL: healthy on a 2xx answer (ikq api's /healthz,
//	                         the emulator's /_emulator/health)
//	ikq healthcheck worker   a worker on this host (this container) is registered and
//	                         heartbeating in Redis (REDIS_URL or -redis-url): asynq
//	                         refreshes the registration every 5 s and it expires after 10
func runHealthcheck(ctx context.Context, args []string, _, stderr io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c common
	timeout := fs.Duration("timeout", 3*time.Second, "give up after this long")
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis of the worker target (REDIS_URL)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, healthcheckUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err // exit 0, as every command's -h
		}
		return usageError{err.Error()}
	}
	if fs.NArg() != 1 {
		return usageError{healthcheckUsage}
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	if fs.Arg(0) == "worker" {
		return workerHealthy(ctx, c)
	}
	return urlHealthy(ctx, fs.Arg(0))
}

func urlHealthy(ctx context.Context, target string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil || (req.URL.Scheme != "http" && req.URL.Scheme != "https") {
		return usageError{fmt.Sprintf("%q is neither an http(s) URL nor worker", target)}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	_ = resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("%s answered %s", target, resp.Status)
	}
	return nil
}

// workerHealthy looks for an active asynq server of this host in Redis's registry.
func workerHealthy(ctx context.Context, c common) error {
	host, err := os.Hostname()
	if err != nil {
		return err
	}
	rdb, _, err := c.redis()
	if err != nil {
		return err
	}
	defer func() { _ = rdb.Close() }()
	if err := redisurl.Ping(ctx, rdb); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	type result struct {
		servers []*asynq.ServerInfo
		err     error
	}
	res := make(chan result, 1)
	go func() { // Inspector takes no context: bound it with ours
		s, err := asynq.NewInspectorFromRedisClient(rdb).Servers()
		res <- result{s, err}
	}()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case r := <-res:
		if r.err != nil {
			return r.err
		}
		for _, s := range r.servers {
			if s.Host == host && s.Status == "active" {
				return nil
			}
		}
		return fmt.Errorf("no worker on %s is heartbeating to Redis", host)
	}
}
