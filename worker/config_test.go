package worker_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/redistest"
	"github.com/ikq-dev/ikq/worker"
)

// New refuses a configuration it cannot run with an error naming the field.
func TestNewValidates(t *testing.T) {
	t.Parallel()
	rdb := redistest.New(t).Client(t)
	cases := []struct {
		name  string
		cfg   worker.Config
		field string
	}{
		{"no Redis", worker.Config{PrivateKey: "k"}, "Redis"},
		{"no private key", worker.Config{Redis: rdb}, "PrivateKey"},
		{"negative concurrency", worker.Config{Redis: rdb, PrivateKey: "k", Concurrency: -1}, "Concurrency"},
		{"negative grace", worker.Config{Redis: rdb, PrivateKey: "k", ShutdownGrace: -1}, "ShutdownGrace"},
		{"negative max size", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{MaxFileSize: -1}}, "MaxFileSize"},
		{"half the S3 credentials", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{S3AccessKeyID: "id"}}, "S3AccessKeyID"},
		{"bad S3 endpoint", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{S3Endpoint: "minio:9000"}}, "S3Endpoint"},
		{"bad allow entry", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{FetchAllow: []string{"10.0.0.0/99"}}}, "FetchAllow"},
		{"host share over 100", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{HostShare: 101}}, "Sources.HostShare"},
		{"negative host share", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{HostShare: -1}}, "Sources.HostShare"},
		{"bad S3 region", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{S3Region: "EU_West"}}, "Sources.S3Region"},
	}
	for _, c := range cases {
		w, err := worker.New(c.cfg)
		var ce *worker.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(ce.Field, c.field) {
			t.Errorf("%s: %v, want a *ConfigError naming %s", c.name, err, c.field)
		}
		if w != nil {
			_ = w.Close()
		}
	}
	w, err := worker.New(worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{FetchAllow: []string{"127.0.0.0/8"}, FileRoot: t.TempDir()}})
	if err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
}
