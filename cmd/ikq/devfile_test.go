package main

import (
	"flag"
	"net"
	"os"
	"testing"
)

// TestDiscoverRedis: with no REDIS_URL, commands use the Redis that a running ikq dev
// recorded, even when another Redis answers at the default address, and the default
// once ikq dev has stopped or when its Redis is gone. It sets the environment, so it
// does not run in parallel.
func TestDiscoverRedis(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	if got := discoverRedis(t.Context()); got != "" {
		t.Fatalf("with no ikq dev running: %q, want the default", got)
	}
	// ikq dev's Redis: something listening on loopback.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	devURL := "redis://" + ln.Addr().String() + "/0"
	remove, err := writeDevFile(devFile{RedisURL: devURL})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(devFilePath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dev file: %v, mode %v; want it readable by its owner only", err, fi.Mode())
	}
	if got := discoverRedis(t.Context()); got != devURL {
		t.Errorf("with ikq dev running: %q, want its Redis %q", got, devURL)
	}
	// ikq dev was killed: its file is left, but its Redis is gone.
	ln.Close()
	if got := discoverRedis(t.Context()); got != "" {
		t.Errorf("with ikq dev's Redis gone: %q, want the default", got)
	}
	if err := os.WriteFile(devFilePath(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := discoverRedis(t.Context()); got != "" {
		t.Errorf("a garbled dev file gave %q, want the default", got)
	}
	remove()
	if _, err := os.Stat(devFilePath()); !os.IsNotExist(err) {
		t.Errorf("the dev file is still there after ikq dev stopped: %v", err)
	}
}

// TestCommandsFindIkqDev: a command with no Redis configured opens the running ikq
// dev's Redis, not the default address; REDIS_URL still wins over it.
func TestCommandsFindIkqDev(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	t.Setenv("REDIS_URL", "")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ln.Close() }()
	remove, err := writeDevFile(devFile{RedisURL: "redis://" + ln.Addr().String() + "/0"})
	if err != nil {
		t.Fatal(err)
	}
	defer remove()
	open := func() string {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		var c common
		c.register(fs)
		if err := parseFlags(fs, nil); err != nil {
			t.Fatal(err)
		}
		rdb, cfg, err := c.redis()
		if err != nil {
			t.Fatal(err)
		}
		_ = rdb.Close()
		return cfg.Addrs[0]
	}
	if got := open(); got != ln.Addr().String() {
		t.Errorf("with ikq dev running and nothing configured: %s, want ikq dev's %s", got, ln.Addr())
	}
	t.Setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
	if got := open(); got != "127.0.0.1:6390" {
		t.Errorf("with REDIS_URL set: %s, want REDIS_URL's", got)
	}
}
