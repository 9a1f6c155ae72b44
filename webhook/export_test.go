package webhook

import (
	"context"
	"net/http"

	"github.com/ikq-dev/ikq/internal/completion"
	"github.com/ikq-dev/ikq/internal/metrics"
)

// TestConfig is Config with the parts NewHandler builds itself given instead, so
// that tests of the handler's answers can use a fake Merger.
type TestConfig struct {
	Config
	Merger  completion.Merger
	Relay   func(ctx context.Context, jobID string, body []byte) error
	Metrics *metrics.Metrics
}

// NewTestHandler is NewHandler with the given parts.
func NewTestHandler(c TestConfig) (http.Handler, error) {
	return newHandler(c.Config, parts{merger: c.Merger, relay: c.Relay, metrics: c.Metrics})
}
