package worker_test

import (
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
		{"bad allow entry", worker.Config{Redis: rdb, PrivateKey: "k", Sources: worker.SourceConfig{FetchAllow: []string{"10.0.0.0/99"}}}, "FetchAllow"},
	}
	for _, c := range cases {
		w, err := worker.New(c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.field) {
			t.Errorf("%s: %v, want an error naming %s", c.name, err, c.field)
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
