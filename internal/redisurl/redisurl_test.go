package redisurl

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"testing"

	"github.com/redis/go-redis/v9"
)

func TestParse(t *testing.T) {
	t.Parallel()
	cases := []struct {
		in     string
		kind   Kind
		addrs  string
		db     int
		master string
		tls    bool
		user   string
		pass   string
	}{
		{"", Single, "127.0.0.1:6379", 0, "", false, "", ""},
		{"redis://localhost", Single, "localhost:6379", 0, "", false, "", ""},
		{"redis://:s3cret@10.0.0.1:6380/4", Single, "10.0.0.1:6380", 4, "", false, "", "s3cret"},
		{"redis://app:s3cret@host:6379/0", Single, "host:6379", 0, "", false, "app", "s3cret"},
		{"rediss://host:6380/1", Single, "host:6380", 1, "", true, "", ""},
		{"redis-sentinel://:pw@s1:26379,s2:26379/2?master=mymaster", Sentinel, "s1:26379,s2:26379", 2, "mymaster", false, "", "pw"},
		{"redis-sentinel://s1,s2?master=m", Sentinel, "s1:26379,s2:26379", 0, "m", false, "", ""},
		{"redis-cluster://n1:7000,n2:7001,n3:7002", Cluster, "n1:7000,n2:7001,n3:7002", 0, "", false, "", ""},
		{"redis-cluster://u:p@n1:7000?tls=true", Cluster, "n1:7000", 0, "", true, "u", "p"},
	}
	for _, c := range cases {
		got, err := Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if got.Kind != c.kind || strings.Join(got.Addrs, ",") != c.addrs || got.DB != c.db ||
			got.MasterName != c.master || got.TLS != c.tls || got.Username != c.user || got.Password != c.pass {
			t.Errorf("Parse(%q) = %+v", c.in, got)
		}
	}
}

func TestParseErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{
		"http://host:6379", "redis://", "redis://h1,h2", "redis://host/x", "redis://host/-1",
		"redis-sentinel://s1:26379", "redis-cluster://n1:7000/3", "::not a url",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded, want an error", in)
			continue
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("error repeats the password: %v", err)
		}
	}
	_, err := Parse("redis://:secret@host/x")
	if err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("bad URL with a password: %v", err)
	}
}

func TestClientsAndOptions(t *testing.T) {
	t.Parallel()
	made := func(c *Config) redis.UniversalClient {
		t.Helper()
		rdb, ok := c.AsynqOpt().MakeRedisClient().(redis.UniversalClient)
		if !ok {
			t.Fatalf("AsynqOpt of %s makes no go-redis client", c)
		}
		t.Cleanup(func() { _ = rdb.Close() })
		return rdb
	}
	c, _ := Parse("redis://:pw@127.0.0.1:6390/3")
	if rdb, ok := made(c).(*redis.Client); !ok || rdb.Options().DB != 3 || rdb.Options().Password != "pw" || rdb.Options().Addr != "127.0.0.1:6390" {
		t.Fatalf("asynq client of %s = %#v", c, made(c))
	}
	if strings.Contains(c.String(), "pw") || !strings.Contains(c.String(), "127.0.0.1:6390") {
		t.Fatalf("String() = %q", c.String())
	}
	s, _ := Parse("redis-sentinel://:pw@s1:26379/2?master=m")
	if rdb, ok := made(s).(*redis.Client); !ok || rdb.Options().DB != 2 || rdb.Options().Password != "pw" {
		t.Fatalf("sentinel asynq client = %#v", made(s))
	}
	cl, _ := Parse("redis-cluster://n1:7000,n2:7001")
	rdb, ok := made(cl).(*redis.ClusterClient)
	if !ok || len(rdb.Options().Addrs) != 2 {
		t.Fatalf("cluster asynq client = %#v", made(cl))
	}
	if got := rdb.Options().ClusterStateReloadInterval; got != clusterStateReload {
		t.Errorf("cluster slot map reloads every %s, want %s", got, clusterStateReload)
	}
}

// reply is an error reply of a Redis server, as go-redis returns it.
type reply string

func (e reply) Error() string { return string(e) }
func (reply) RedisError()     {}

func TestNodeDown(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{nil, false},
		{redis.Nil, false},
		{context.Canceled, false},
		{errors.New("ERR unknown command"), false},
		{&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}, true},
		{fmt.Errorf("read: %w", io.EOF), true},
		{fmt.Errorf("jobstore: write job x: %w", reply("CLUSTERDOWN The cluster is down")), true},
		{reply("READONLY You can't write against a read only replica."), true},
		{reply("TRYAGAIN Multiple keys request during rehashing of slot"), true},
		{fmt.Errorf("wrapped: %w", reply("NOREPLICAS Not enough good replicas to write.")), true},
		{errors.New("CLUSTERDOWN in a message that is not a reply"), false},
		{reply("ERR syntax error"), false},
		{fmt.Errorf("jobstore: read idempotency key: %w", reply("MOVED 16128 127.0.0.1:46331")), true},
		{reply("ASK 3999 127.0.0.1:6381"), true},
		{reply("MOVEDX not a redirect"), false},
	} {
		if got := NodeDown(tc.err); got != tc.want {
			t.Errorf("NodeDown(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"redis://:pw@h:1/2", "redis-sentinel://a,b?master=m", "redis-cluster://a:1,b:2", "rediss://x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := Parse(s)
		if err != nil {
			return
		}
		if len(c.Addrs) == 0 {
			t.Fatalf("Parse(%q) gave no address", s)
		}
		_ = c.AsynqOpt()
		_ = c.String()
	})
}
