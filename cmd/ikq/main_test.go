package main

import (
	"testing"

	"github.com/ikq-dev/ikq/internal/redistest"
)

// TestMain stops the package's private redis-server when the tests end.
func TestMain(m *testing.M) { redistest.Main(m) }
