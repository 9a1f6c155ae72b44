package metrics_test

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// These stand in for prometheus/testutil (GatherAndCompare, ToFloat64), which the
// module cannot build yet: its dependency github.com/kylelemons/godebug has no
// go.sum entry.

// exposition returns the text format of the families named names in g, in the order
// Gather returns them (sorted by name).
func exposition(t *testing.T, g prometheus.Gatherer, names ...string) string {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	var b bytes.Buffer
	enc := expfmt.NewEncoder(&b, expfmt.NewFormat(expfmt.TypeTextPlain))
	for _, f := range families {
		if slices.Contains(names, f.GetName()) {
			if err := enc.Encode(f); err != nil {
				t.Fatalf("encoding %s: %v", f.GetName(), err)
			}
		}
	}
	return b.String()
}

// gatherAndCompare fails the test unless the text format of the named families in
// g is want (leading and trailing blank space aside).
func gatherAndCompare(t *testing.T, g prometheus.Gatherer, want string, names ...string) {
	t.Helper()
	got := exposition(t, g, names...)
	if strings.TrimSpace(got) != strings.TrimSpace(want) {
		t.Errorf("metrics %v:\n--- got\n%s\n--- want\n%s", names, got, want)
	}
}

// find returns the metric of family name in g whose labels are exactly labels
// (name, value pairs), or nil.
func find(t *testing.T, g prometheus.Gatherer, name string, labels ...string) *dto.Metric {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			if hasLabels(m, labels) {
				return m
			}
		}
	}
	return nil
}

func hasLabels(m *dto.Metric, pairs []string) bool {
	if len(m.GetLabel())*2 != len(pairs) {
		return false
	}
	for i := 0; i < len(pairs); i += 2 {
		found := false
		for _, l := range m.GetLabel() {
			if l.GetName() == pairs[i] && l.GetValue() == pairs[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// value is the value of a counter or gauge in g; it fails the test when there is none.
func value(t *testing.T, g prometheus.Gatherer, name string, labels ...string) float64 {
	t.Helper()
	m := find(t, g, name, labels...)
	switch {
	case m == nil:
		t.Fatalf("no metric %s%v", name, labels)
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Untyped != nil:
		return m.Untyped.GetValue()
	}
	t.Fatalf("%s%v is neither a counter nor a gauge", name, labels)
	return 0
}

// histogram is the sample count and sum of a histogram in g.
func histogram(t *testing.T, g prometheus.Gatherer, name string, labels ...string) (count uint64, sum float64) {
	t.Helper()
	m := find(t, g, name, labels...)
	if m == nil || m.Histogram == nil {
		t.Fatalf("no histogram %s%v", name, labels)
	}
	return m.Histogram.GetSampleCount(), m.Histogram.GetSampleSum()
}

// count is how many series of family name g has (testutil.CollectAndCount).
func count(t *testing.T, g prometheus.Gatherer, name string) int {
	t.Helper()
	families, err := g.Gather()
	if err != nil {
		t.Fatalf("Gather: %v", err)
	}
	for _, f := range families {
		if f.GetName() == name {
			return len(f.GetMetric())
		}
	}
	return 0
}
