package objstore

import (
	"errors"
	"net/url"
	"testing"

	"github.com/ikq-dev/ikq/internal/source"
)

// FuzzParseRef: a job's object reference parses, or fails as a permanent
// KindInvalid; never a panic. A region it accepts is one CheckRegion accepts.
func FuzzParseRef(f *testing.F) {
	for _, s := range []string{
		"s3://photos/a.png", "s3://photos/a.png?region=eu-west-1", "s3://photos/a.png?region=r1&region=r2",
		"s3://photos/a.png?region=EU", "gs://b-1/k/x.jpg", "azblob://$web/a", "mem://m/a", "s3://u:p@b/k",
		"s3://b/k?endpoint=http://169.254.169.254/", "s3://b/%zz", "s3://b/k#f",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		u, err := url.Parse(s)
		if err != nil {
			return
		}
		ref, err := parseRef(u)
		if err != nil {
			var e *source.Error
			if !errors.As(err, &e) || e.Kind != source.KindInvalid || e.Retryable {
				t.Fatalf("parseRef(%q): %v, want a permanent KindInvalid *source.Error", s, err)
			}
			return
		}
		if ref.region != "" && CheckRegion(ref.region) != nil {
			t.Fatalf("parseRef(%q) accepted region %q", s, ref.region)
		}
		if ref.bucket == "" || ref.key == "" {
			t.Fatalf("parseRef(%q) = %+v without bucket or key", s, ref)
		}
	})
}
