package restapi_test

import (
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest"
)

// TestMain stops the package's private redis-server when the tests end, and checks
// that no goroutine outlives them. The tests' producer, on its own Redis database,
// is e2e.Env.
func TestMain(m *testing.M) { ikqtest.Main(m) }
