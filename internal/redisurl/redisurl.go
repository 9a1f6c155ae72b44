// Package redisurl turns a REDIS_URL into a go-redis client and the matching asynq
// connection option, for the four kinds of deployment ikq supports:
//
//	redis://[user:password@]host:port[/db]            a single server
//	rediss://…                                        the same over TLS
//	redis-sentinel://[:password@]h1:port,h2:port[/db]?master=name   Sentinel failover
//	redis-cluster://[user:password@]h1:port,h2:port    Redis Cluster
//
//	c, err := redisurl.Parse(os.Getenv("REDIS_URL"))
//	if err != nil { ... }
//	rdb := c.Client()              // redis.UniversalClient for ikq's own state
//	opt := c.AsynqOpt()            // asynq.RedisConnOpt for asynq and asynqmon
package redisurl

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redact"
)

// Default is the REDIS_URL used when none is configured.
const Default = "redis://127.0.0.1:6379/0"

// Kind is the deployment a URL names.
type Kind int

const (
	Single Kind = iota
	Sentinel
	Cluster
)

// Config is a parsed REDIS_URL.
type Config struct {
	Kind       Kind
	Addrs      []string
	Username   string
	Password   string
	DB         int
	MasterName string
	TLS        bool
	raw        *url.URL
}

// Parse reads a REDIS_URL. Errors name the part that is wrong and never repeat the
// password.
func Parse(raw string) (*Config, error) {
	if strings.TrimSpace(raw) == "" {
		raw = Default
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("REDIS_URL: not a URL (want redis://host:port/db)")
	}
	c := &Config{raw: u}
	switch u.Scheme {
	case "redis":
	case "rediss":
		c.TLS = true
	case "redis-sentinel":
		c.Kind = Sentinel
	case "redis-cluster":
		c.Kind = Cluster
	default:
		return nil, fmt.Errorf("REDIS_URL: unsupported scheme %q (use redis, rediss, redis-sentinel or redis-cluster)", u.Scheme)
	}
	if u.User != nil {
		c.Username = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	for _, h := range strings.Split(u.Host, ",") {
		if h == "" {
			continue
		}
		if _, port, err := net.SplitHostPort(h); err != nil || port == "" {
			h = net.JoinHostPort(h, "6379")
			if c.Kind == Sentinel {
				h = strings.TrimSuffix(h, "6379") + "26379"
			}
		}
		c.Addrs = append(c.Addrs, h)
	}
	if len(c.Addrs) == 0 {
		return nil, errors.New("REDIS_URL: no host")
	}
	if c.Kind == Single && len(c.Addrs) > 1 {
		return nil, errors.New("REDIS_URL: several hosts need redis-sentinel:// or redis-cluster://")
	}
	if p := strings.Trim(u.Path, "/"); p != "" {
		db, err := strconv.Atoi(p)
		if err != nil || db < 0 {
			return nil, fmt.Errorf("REDIS_URL: database %q is not a non-negative number", p)
		}
		if c.Kind == Cluster && db != 0 {
			return nil, errors.New("REDIS_URL: Redis Cluster has only database 0")
		}
		c.DB = db
	}
	q := u.Query()
	if c.Kind == Sentinel {
		c.MasterName = q.Get("master")
		if c.MasterName == "" {
			return nil, errors.New("REDIS_URL: redis-sentinel:// needs ?master=<name>")
		}
	}
	if q.Get("tls") == "true" {
		c.TLS = true
	}
	return c, nil
}

func (c *Config) tlsConfig() *tls.Config {
	if !c.TLS {
		return nil
	}
	host, _, _ := net.SplitHostPort(c.Addrs[0])
	return &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
}

// Client returns a new go-redis client for the URL.
func (c *Config) Client() redis.UniversalClient {
	switch c.Kind {
	case Sentinel:
		return redis.NewFailoverClient(&redis.FailoverOptions{
			MasterName: c.MasterName, SentinelAddrs: c.Addrs, Username: c.Username,
			Password: c.Password, SentinelPassword: c.Password, DB: c.DB, TLSConfig: c.tlsConfig(),
		})
	case Cluster:
		return newClusterClient(&redis.ClusterOptions{
			Addrs: c.Addrs, Username: c.Username, Password: c.Password, TLSConfig: c.tlsConfig(),
		})
	}
	return redis.NewClient(&redis.Options{
		Addr: c.Addrs[0], Username: c.Username, Password: c.Password, DB: c.DB, TLSConfig: c.tlsConfig(),
	})
}

// AsynqOpt returns the asynq connection option for the URL (asynqmon needs one). Its
// clients are the ones Client makes, so asynq's commands follow a cluster failover
// as soon as ikq's own do.
func (c *Config) AsynqOpt() asynq.RedisConnOpt { return connOpt{c} }

// connOpt is an asynq.RedisConnOpt that makes its clients with Config.Client.
type connOpt struct{ c *Config }

func (o connOpt) MakeRedisClient() any { return o.c.Client() }

// Ping asks every node that holds ikq's data whether it answers: each master of a
// cluster (job state is spread over all of them, asynq's queues over some), or the
// one master otherwise. A cluster client's own Ping asks one node at random, which
// says nothing about the others.
func Ping(ctx context.Context, rdb redis.UniversalClient) error {
	if cc, ok := rdb.(*redis.ClusterClient); ok {
		return cc.ForEachMaster(ctx, func(ctx context.Context, n *redis.Client) error {
			return n.Ping(ctx).Err()
		})
	}
	return rdb.Ping(ctx).Err()
}

// String is the URL with the password hidden, for logs.
func (c *Config) String() string {
	u := *c.raw
	if u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), redact.Mask)
		}
	}
	return u.String()
}
