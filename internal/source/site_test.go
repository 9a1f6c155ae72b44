package source

import "testing"

func TestSiteOf(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ host, want string }{
		{"img.example.com", "example.com"},
		{"A.B.Example.COM.", "example.com"},
		{"example.com", "example.com"},
		{"photos.example.co.uk", "example.co.uk"},
		{"bucket.s3.amazonaws.com", "bucket.s3.amazonaws.com"}, // a public suffix of its own
		{"other.s3.amazonaws.com", "other.s3.amazonaws.com"},
		{"127.0.0.1", "127.0.0.1"},
		{"::1", "::1"},
		{"localhost", "localhost"},
		{"com", "com"},
	} {
		if got := siteOf(c.host); got != c.want {
			t.Errorf("siteOf(%q) = %q, want %q", c.host, got, c.want)
		}
	}
}
