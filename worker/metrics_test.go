package worker_test

import (
	"encoding/base64"
	"maps"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/tasks"
	"github.com/ikq-dev/ikq/worker"
)

// Every attempt is counted by outcome, the bytes stored are summed, and every source
// opened is timed.
func TestMetricsCountAttemptsBytesAndSources(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s := newStack(t, withWorker(func(c *worker.Config) { c.Registerer = reg }))

	run := func(body []byte, name string) *jobstore.Job {
		t.Helper()
		job := s.Enqueue(tasks.Upload{File: base64.StdEncoding.EncodeToString(body), FileName: name})
		job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
		if job.Status != jobstore.StatusCompleted {
			t.Fatalf("job %s is %s; record:\n%s", name, job.Status, e2e.RecordText(job))
		}
		s.WaitTaskState(job, "gone") // the handler has returned, its metrics recorded
		return job
	}
	first, second := ikqtest.PNG(t, 31, 10, 10), ikqtest.PNG(t, 37, 12, 9)
	jobA := run(first, "metrics-first.png")
	s.Fault(`{"status":500,"count":1}`)
	jobB := run(second, "metrics-second.png")
	if jobA.Attempts != 1 || jobB.Attempts != 2 {
		t.Fatalf("attempts %d and %d, want 1 and 2 (one 500 then success)", jobA.Attempts, jobB.Attempts)
	}

	for _, c := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"ikq_uploads_total", []string{"queue", "default", "outcome", "completed"}, 2},
		{"ikq_uploads_total", []string{"queue", "default", "outcome", "retrying"}, 1},
		{"ikq_uploaded_bytes_total", nil, float64(len(first) + len(second))},
	} {
		if got := gathered(t, reg, c.name, c.labels...).GetCounter().GetValue(); got != c.want {
			t.Errorf("%s%v = %g, want %g", c.name, c.labels, got, c.want)
		}
	}
	if got, want := resultOf(t, jobA).Size+resultOf(t, jobB).Size, int64(len(first)+len(second)); got != want {
		t.Errorf("the results' sizes add up to %d, want the files' %d", got, want)
	}
	for _, c := range []struct {
		outcome string
		want    uint64
	}{{"completed", 2}, {"retrying", 1}} {
		if got := gathered(t, reg, "ikq_upload_duration_seconds", "queue", "default", "outcome", c.outcome).GetHistogram().GetSampleCount(); got != c.want {
			t.Errorf("ikq_upload_duration_seconds{outcome=%q} count %d, want %d", c.outcome, got, c.want)
		}
	}
	// Every attempt opened its (inline) source, the failed one included.
	opened := uint64(jobA.Attempts + jobB.Attempts)
	if got := gathered(t, reg, "ikq_source_fetch_duration_seconds", "scheme", "inline", "outcome", "ok").GetHistogram().GetSampleCount(); got != opened {
		t.Errorf("source fetch count %d, want %d", got, opened)
	}
}

// gathered returns the metric of family name in reg with exactly labels (name, value
// pairs), failing the test when there is none.
func gathered(t *testing.T, reg *prometheus.Registry, name string, labels ...string) *dto.Metric {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			want := map[string]string{}
			for i := 0; i+1 < len(labels); i += 2 {
				want[labels[i]] = labels[i+1]
			}
			if maps.Equal(got, want) {
				return m
			}
		}
	}
	t.Fatalf("no metric %s%v", name, labels)
	return nil
}
