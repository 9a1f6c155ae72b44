package worker

import (
	"testing"

	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/metrics"
)

func TestOutcomes(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		kind              kind
		retried, maxRetry int
		want              string
	}{
		{transient, 0, 9, metrics.OutcomeRetrying},
		{transient, 9, 9, metrics.OutcomeFailed}, // attempts used up
		{throttled, 3, 9, metrics.OutcomeThrottled},
		{permanent, 0, 9, metrics.OutcomeFailed},
		{canceled, 0, 9, metrics.OutcomeCanceled},
		{canceled, 9, 9, metrics.OutcomeCanceled},
	} {
		if got := failureOutcome(failure{kind: c.kind}, c.retried, c.maxRetry); got != c.want {
			t.Errorf("failureOutcome(kind %d, retried %d of %d) = %q, want %q", c.kind, c.retried, c.maxRetry, got, c.want)
		}
	}
	if got := uploadOutcome(jobstore.StatusUploaded); got != metrics.OutcomeUploaded {
		t.Errorf("uploadOutcome(uploaded) = %q", got)
	}
	if got := uploadOutcome(jobstore.StatusCompleted); got != metrics.OutcomeCompleted {
		t.Errorf("uploadOutcome(completed) = %q", got)
	}
}

// A source's scheme label is one of a few words, whatever the reference holds.
func TestSourceScheme(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{
		"https://example.com/a.png?sig=secret": "https",
		"HTTP://example.com/a.png":             "http",
		" s3://bucket/key":                     "s3",
		"gs://bucket/key":                      "gs",
		"azblob://container/key":               "azblob",
		"mem://bucket/key":                     "mem",
		"file:///srv/a.png":                    "file",
		"data:image/png;base64,iVBORw0KGgo=":   "inline",
		"iVBORw0KGgoAAAANSUhEUg==":             "inline",
		"":                                     "inline",
		"ftp://example.com/a.png":              "other",
		"javascript:alert(1)":                  "other",
	} {
		if got := sourceScheme(ref); got != want {
			t.Errorf("sourceScheme(%q) = %q, want %q", ref, got, want)
		}
	}
}
