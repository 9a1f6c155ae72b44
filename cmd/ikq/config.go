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

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisurl"
)

// common holds the flags every Redis-backed command shares.
type common struct {
	redisURL  string
	logLevel  string
	logFormat string
}

func (c *common) register(fs *flag.FlagSet) {
	fs.StringVar(&c.redisURL, "redis-url", "", "Redis URL: redis://, rediss://, redis-sentinel://, redis-cluster:// (REDIS_URL; default "+redisurl.Default+")")
	fs.StringVar(&c.logLevel, "log-level", envOr("IKQ_LOG_LEVEL", "info"), "debug, info, warn or error (IKQ_LOG_LEVEL)")
	fs.StringVar(&c.logFormat, "log-format", envOr("IKQ_LOG_FORMAT", "text"), "text or json (IKQ_LOG_FORMAT)")
}

// redis opens the configured Redis. The URL comes from the flag, else REDIS_URL;
// it is read after parsing so that a password in it never shows in -h output.
func (c *common) redis() (redis.UniversalClient, *redisurl.Config, error) {
	raw := c.redisURL
	if raw == "" {
		raw = os.Getenv("REDIS_URL")
	}
	if raw == "" {
		raw = discoverRedis(context.Background())
	}
	cfg, err := redisurl.Parse(raw)
	if err != nil {
		return nil, nil, usageError{err.Error()}
	}
	return cfg.Client(), cfg, nil
}

func (c *common) logger(w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(c.logLevel)); err != nil {
		return nil, usageError{"-log-level: " + err.Error()}
	}
	opts := &slog.HandlerOptions{Level: level}
	switch c.logFormat {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, usageError{"-log-format must be text or json"}
}

// secret returns a secret flag's value, else the environment's: secrets are never
// flag defaults, so -h never prints them.
func secret(flagValue, env string) string {
	if flagValue != "" {
		return flagValue
	}
	return os.Getenv(env)
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
		out[name] = n
	}
	return out, nil
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil {
		return v
	}
	return def
}

var errJobUnsuccessful = errors.New("the job failed or was canceled")
