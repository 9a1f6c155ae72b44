package metrics

import (
	"context"
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// countTimeout bounds one scrape's read of the job counts: a scrape has no ctx of its
// own, and a slow Redis must not hold the scrape past Prometheus' own timeout.
const countTimeout = 5 * time.Second

var jobsDesc = prometheus.NewDesc(
	prometheus.BuildFQName(namespace, "", "jobs"),
	"Jobs in the job store, by state (queued, active, retrying, uploaded, completed, failed, canceled), read at scrape time.",
	[]string{"state"}, nil,
)

// jobStateCollector exports ikq_jobs{state} from a count read at each scrape.
type jobStateCollector struct {
	count func(ctx context.Context) (map[string]int64, error)
}

// NewJobStateCollector returns a collector of the gauge ikq_jobs{state}, one series
// per state count returns, calling count at every scrape (with a 5-second timeout).
// When count fails, the scrape reports the error and no ikq_jobs series; the other
// metrics are still served (see Handler). Give it the job store's Counts, with each
// status as a string.
func NewJobStateCollector(count func(ctx context.Context) (map[string]int64, error)) prometheus.Collector {
	return &jobStateCollector{count: count}
}

func (c *jobStateCollector) Describe(ch chan<- *prometheus.Desc) { ch <- jobsDesc }

func (c *jobStateCollector) Collect(ch chan<- prometheus.Metric) {
	if c.count == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), countTimeout)
	defer cancel()
	counts, err := c.count(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(jobsDesc, fmt.Errorf("metrics: counting jobs by state: %w", err))
		return
	}
	for state, n := range counts {
		ch <- prometheus.MustNewConstMetric(jobsDesc, prometheus.GaugeValue, float64(n), state)
	}
}
