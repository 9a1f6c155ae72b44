package main

import (
	"os"
	"testing"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestMain stops the package's private redis-server when the tests end.
func TestMain(m *testing.M) {
	// ikq dev records its Redis in $XDG_RUNTIME_DIR/ikq/dev.json: the tests' dev runs
	// must not replace or remove the file of a real ikq dev running on this machine.
	dir, err := os.MkdirTemp("", "ikq-test-runtime-")
	if err != nil {
		panic(err)
	}
	if err := os.Setenv("XDG_RUNTIME_DIR", dir); err != nil {
		panic(err)
	}
	code := redistest.Run(m)
	_ = os.RemoveAll(dir)
	os.Exit(code)
}
