package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisurl"
	"github.com/ikq-dev/ikq/producer"
	"github.com/ikq-dev/ikq/tasks"
)

// common holds the settings every Redis-backed command shares.
type common struct {
	redisURL  string
	logLevel  slog.Level
	logFormat string
	store     storeSettings
	vars      []*setting // resolved by redis and logger, for commands that parse on their own
}

// storeSettings configure the job records every role reads and writes.
type storeSettings struct {
	retention    time.Duration // how long finished jobs are kept
	waitReplicas int           // replicas that must confirm a new job
	waitTimeout  time.Duration
}

func (c *common) register(fs *flag.FlagSet) {
	c.vars = []*setting{
		// A secret: the URL may hold a password, so -h never prints it.
		define(fs, settingDef{Flag: "redis-url", Env: "REDIS_URL", Default: redisurl.Default, Secret: true,
			Doc: "Redis URL: redis://, rediss://, redis-sentinel://, redis-cluster://", Parse: textValue(&c.redisURL)}),
		define(fs, settingDef{Flag: "log-level", Env: "IKQ_LOG_LEVEL", Default: "info",
			Doc: "debug, info, warn or error", Parse: func(v string) error {
				if err := c.logLevel.UnmarshalText([]byte(v)); err != nil {
					return errors.New("want debug, info, warn or error")
				}
				return nil
			}}),
		define(fs, settingDef{Flag: "log-format", Env: "IKQ_LOG_FORMAT", Default: "text",
			Doc: "text or json", Parse: oneOfValue(&c.logFormat, "text", "json")}),
		define(fs, settingDef{Flag: "retention", Env: "IKQ_RETENTION", Default: "7d",
			Doc: "how long finished jobs' records are kept, like 7d or 36h", Parse: retentionValue(&c.store.retention)}),
		define(fs, settingDef{Flag: "redis-wait-replicas", Env: "IKQ_REDIS_WAIT_REPLICAS", Default: "0",
			Doc: "Redis replicas that must confirm a new job before it is acknowledged, and each recorded outcome (0: none)", Parse: intValue(&c.store.waitReplicas, 0)}),
		define(fs, settingDef{Flag: "redis-wait-timeout", Env: "IKQ_REDIS_WAIT_TIMEOUT", Default: "1s",
			Doc: "how long a new job waits for those replicas before the API answers 503", Parse: positiveDurationValue(&c.store.waitTimeout)}),
	}
}

// producerConfig is a producer's configuration with the store settings applied.
func (c *common) producerConfig(cfg producer.Config) producer.Config {
	cfg.Retention = c.store.retention
	cfg.WaitReplicas, cfg.WaitTimeout = c.store.waitReplicas, c.store.waitTimeout
	return cfg
}

// redisConfigured reports whether the Redis URL came from the flag or REDIS_URL
// rather than its default. Call it after resolve.
func (c *common) redisConfigured() bool {
	return len(c.vars) > 0 && c.vars[0].source != "" && c.vars[0].source != "default"
}

func (c *common) resolve() error {
	for _, s := range c.vars {
		if err := s.resolve(); err != nil {
			return err
		}
	}
	return nil
}

// redis opens the configured Redis. The URL comes from the flag, else REDIS_URL;
// it is read after parsing so that a password in it never shows in -h output.
func (c *common) redis() (redis.UniversalClient, *redisurl.Config, error) {
	if err := c.resolve(); err != nil {
		return nil, nil, err
	}
	raw := c.redisURL
	if raw == "" {
		raw = os.Getenv("REDIS_URL") // a common built without register
	}
	if !c.redisConfigured() && os.Getenv("REDIS_URL") == "" {
		// Nothing configured: a running ikq dev's Redis, else the default.
		if d := discoverRedis(context.Background()); d != "" {
			raw = d
		}
	}
	cfg, err := redisurl.Parse(raw)
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	return cfg.Client(), cfg, nil
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	if err := c.resolve(); err != nil {
		return nil, err
	}
	opts := &slog.HandlerOptions{Level: c.logLevel}
	if c.logFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}

// parseQueues reads weights like "critical=6,default=3,low=1".
func parseQueues(s string) (map[string]int, error) {
	out := map[string]int{}
	for _, part := range strings.Split(s, ",") {
		name, weight, ok := strings.Cut(strings.TrimSpace(part), "=")
		n, err := strconv.Atoi(weight)
		if !ok || name == "" || err != nil || n <= 0 {
			return nil, fmt.Errorf("queue weights look like critical=6,default=3,low=1; got %q", part)
		}
		switch name {
		case tasks.QueueCritical, tasks.QueueDefault, tasks.QueueLow:
		default:
			return nil, fmt.Errorf("jobs run on the queues critical, default and low; got %q", name)
		}
		out[name] = n
	}
	return out, nil
}

var errJobUnsuccessful = errors.New("the job failed or was canceled")
