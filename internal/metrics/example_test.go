package metrics_test

import (
	"os"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"github.com/ikq-dev/ikq/internal/metrics"
)

func Example() {
	m := metrics.New()
	reg := prometheus.NewRegistry()
	if err := m.Register(reg); err != nil {
		panic(err)
	}

	// The worker, at the end of each attempt:
	m.SourceFetched("https", metrics.FetchOK, 150*time.Millisecond)
	m.UploadFinished("default", metrics.OutcomeCompleted, 2*time.Second)
	m.BytesUploaded(48213)

	// What /metrics shows of two of them:
	families, err := reg.Gather()
	if err != nil {
		panic(err)
	}
	enc := expfmt.NewEncoder(os.Stdout, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if f.GetName() == "ikq_uploads_total" || f.GetName() == "ikq_uploaded_bytes_total" {
			_ = enc.Encode(f)
		}
	}
	// Output:
	// # HELP ikq_uploaded_bytes_total Bytes of the files ImageKit stored, as its upload answers report their sizes.
	// # TYPE ikq_uploaded_bytes_total counter
	// ikq_uploaded_bytes_total 48213
	// # HELP ikq_uploads_total Upload attempts that ended, by queue and outcome (completed, uploaded, retrying, throttled, failed, canceled).
	// # TYPE ikq_uploads_total counter
	// ikq_uploads_total{outcome="completed",queue="default"} 1
}
