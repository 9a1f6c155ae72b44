package main

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/ikq-dev/ikq/internal/redisurl"
)

// devFile is what `ikq dev` writes while it runs, so that enqueue, status and bulk
// find its Redis (a random port) with no setup.
type devFile struct {
	RedisURL string `json:"redisUrl"`
	PID      int    `json:"pid"`
	// EmulatorURL and PrivateKey are set when dev's emulator is the upload target:
	// bulk then uploads there from where it runs. The key is the emulator's own.
	EmulatorURL string `json:"emulatorUrl,omitempty"`
	PrivateKey  string `json:"privateKey,omitempty"`
}

// devFilePath is $XDG_RUNTIME_DIR/ikq/dev.json, else dev.json in the user's cache
// folder (~/.cache/ikq on Linux).
func devFilePath() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "ikq", "dev.json")
	}
	d, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(d, "ikq", "dev.json")
}

// writeDevFile records ikq dev's Redis; the returned func removes the file.
func writeDevFile(f devFile) (remove func(), err error) {
	p := devFilePath()
	if p == "" {
		return func() {}, nil
	}
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return nil, err
	}
	f.PID = os.Getpid()
	b, _ := json.Marshal(f) //nolint:gosec // G117: the key of ikq dev's own emulator, kept in a file only its user can read
	if err := os.WriteFile(p, b, 0o600); err != nil {
		return nil, err
	}
	return func() { _ = os.Remove(p) }, nil
}

// discoverRedis is the Redis URL a command uses when none is configured: the one of
// a running ikq dev when it answers (a newcomer who started ikq dev means that one,
// even when another Redis listens at the default address), else "" for the default.
func discoverRedis(ctx context.Context) string {
	f := readDevFile()
	if f == nil {
		return ""
	}
	cfg, err := redisurl.Parse(f.RedisURL)
	if err != nil || len(cfg.Addrs) == 0 {
		return ""
	}
	// A file left by an ikq dev that was killed names a Redis that is gone.
	d := net.Dialer{Timeout: 300 * time.Millisecond}
	c, err := d.DialContext(ctx, "tcp", cfg.Addrs[0])
	if err != nil {
		return ""
	}
	_ = c.Close() // only a probe
	return f.RedisURL
}

// readDevFile is the running ikq dev's record, or nil.
func readDevFile() *devFile {
	p := devFilePath()
	if p == "" {
		return nil
	}
	b, err := os.ReadFile(p) //nolint:gosec // G304: the user's own runtime folder
	if err != nil {
		return nil
	}
	var f devFile
	if json.Unmarshal(b, &f) != nil || f.RedisURL == "" {
		return nil
	}
	if _, err := redisurl.Parse(f.RedisURL); err != nil {
		return nil
	}
	return &f
}
