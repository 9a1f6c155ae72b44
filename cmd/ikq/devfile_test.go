package main

import (
	"net"
	"os"
	"testing"
)

// TestDiscoverRedis: with nothing at the default address, commands use the Redis
// that a running ikq dev recorded, and nothing once it has stopped. It sets the
// environment, so it does not run in parallel.
func TestDiscoverRedis(t *testing.T) {
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	const nothing = "127.0.0.1:1"
	if got := discoverRedisAt(t.Context(), nothing); got != "" {
		t.Fatalf("with no ikq dev running: %q, want none", got)
	}
	remove, err := writeDevFile(devFile{RedisURL: "redis://127.0.0.1:45678/0"})
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(devFilePath()); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("dev file: %v, mode %v; want it readable by its owner only", err, fi.Mode())
	}
	if got := discoverRedisAt(t.Context(), nothing); got != "redis://127.0.0.1:45678/0" {
		t.Errorf("with ikq dev running: %q, want its Redis", got)
	}
	// Something answers at the default address: that wins, as before.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	if got := discoverRedisAt(t.Context(), ln.Addr().String()); got != "" {
		t.Errorf("with a server at the default address: %q, want the default", got)
	}
	if err := os.WriteFile(devFilePath(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := discoverRedisAt(t.Context(), nothing); got != "" {
		t.Errorf("a garbled dev file gave %q, want none", got)
	}
	remove()
	if _, err := os.Stat(devFilePath()); !os.IsNotExist(err) {
		t.Errorf("the dev file is still there after ikq dev stopped: %v", err)
	}
}
