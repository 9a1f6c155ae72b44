package worker

import (
	"net/http"

	"github.com/ikq-dev/ikq/internal/imagekit"
	"github.com/ikq-dev/ikq/internal/metrics"
	"github.com/ikq-dev/ikq/internal/source"
)

// TestConfig is Config with the parts New builds itself given instead, so that
// tests can point the Upload API client anywhere, give the source opener an
// instant clock, and read the metrics.
type TestConfig struct {
	Config
	ImageKit       *imagekit.Client
	Sources        *source.Opener
	Metrics        *metrics.Metrics
	CallbackClient *http.Client
}

// NewTest is New with the given parts.
func NewTest(c TestConfig) (*Worker, error) {
	return newWorker(c.Config, parts{ik: c.ImageKit, sources: c.Sources, metrics: c.Metrics, callback: c.CallbackClient})
}
