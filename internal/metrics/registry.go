package metrics

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/hibiken/asynq"
	asynqmetrics "github.com/hibiken/asynq/x/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// NewRegistry returns a registry holding what /metrics serves: the Go runtime and
// process collectors, ikq's metrics m (unless nil), asynq's queue collector reading
// through inspector (unless nil), and jobStates (unless nil; see
// NewJobStateCollector).
//
// asynq's collector describes its metrics by collecting them, so registering it
// reads the queues once from Redis.
func NewRegistry(m *Metrics, inspector *asynq.Inspector, jobStates prometheus.Collector) (*prometheus.Registry, error) {
	reg := prometheus.NewRegistry()
	cs := []prometheus.Collector{
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	}
	if inspector != nil {
		cs = append(cs, asynqmetrics.NewQueueMetricsCollector(inspector))
	}
	if jobStates != nil {
		cs = append(cs, jobStates)
	}
	for _, c := range cs {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	if err := m.Register(reg); err != nil {
		return nil, err
	}
	return reg, nil
}

// RegisterServer adds what the API's /metrics serves besides the runtime: asynq's
// queue collector reading through inspector, jobStates (see NewJobStateCollector),
// and ikq's own metrics, shared with components registered in reg before or after
// (see For). It returns those metrics.
func RegisterServer(reg prometheus.Registerer, inspector *asynq.Inspector, jobStates prometheus.Collector) (*Metrics, error) {
	for _, c := range []prometheus.Collector{asynqmetrics.NewQueueMetricsCollector(inspector), jobStates} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("metrics: register: %w", err)
		}
	}
	return For(reg)
}

// maxScrapes bounds concurrent scrapes: each reads every queue's info from Redis.
const maxScrapes = 4

// Handler serves reg in the Prometheus exposition formats. A collector that fails
// is logged (slog's default logger) and counted in promhttp_metric_handler_errors_total,
// and the metrics gathered without it are still served.
func Handler(reg *prometheus.Registry) http.Handler {
	return promhttp.InstrumentMetricHandler(reg, promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:            errorLog{},
		ErrorHandling:       promhttp.ContinueOnError,
		Registry:            reg,
		MaxRequestsInFlight: maxScrapes,
	}))
}

// errorLog is promhttp's Logger on slog.
type errorLog struct{}

func (errorLog) Println(v ...any) {
	slog.Error(fmt.Sprint(v...), "component", "metrics")
}
