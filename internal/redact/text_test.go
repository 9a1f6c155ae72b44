package redact_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/redact"
)

func TestText(t *testing.T) {
	t.Parallel()
	tests := []struct{ name, in, want string }{
		{"plain", "Internal server error. Please try again.", "Internal server error. Please try again."},
		{"empty", "", ""},
		{"resolver", "dial tcp: lookup img.example.com on 10.0.0.2:53: no such host", "dial tcp: lookup img.example.com: no such host"},
		{"resolver v6", "lookup h on [fd00::53]:53: server misbehaving", "lookup h: server misbehaving"},
		{"resolver without port", "lookup h on 10.0.0.2: i/o timeout", "lookup h: i/o timeout"},
		{"dial", "dial tcp 10.1.2.3:8080: connect: connection refused", "dial tcp: connect: connection refused"},
		{"dial v6", "dial tcp6 [fd12::7]:443: connect: network is unreachable", "dial tcp6: connect: network is unreachable"},
		{"read both ends", "read tcp 10.0.0.5:51234->10.1.2.3:443: read: connection reset by peer", "read tcp: read: connection reset by peer"},
		{"write both ends v6", "write tcp [::1]:5->[::1]:80: broken pipe", "write tcp: broken pipe"},
		{"imds url and address", `Get "http://169.254.169.254/latest/api/token": dial tcp 169.254.169.254:80: i/o timeout`,
			`Get "the instance metadata service": dial tcp: i/o timeout`},
		{"imds v6", `Put "http://[fd00:ec2::254]/latest/api/token": context deadline exceeded`, `Put "the instance metadata service": context deadline exceeded`},
		{"ecs address alone", "connect to 169.254.170.2 failed", "connect to the instance metadata service failed"},
		{"gce", "lookup metadata.google.internal: no such host", "lookup the instance metadata service: no such host"},
		{"certificate", "x509: certificate is valid for a.internal, 10.9.8.7, not cdn.example.com", "x509: certificate is not valid for cdn.example.com"},
		{"url redacted", `source "https://u:pw@h/a.png?sig=abc&w=1": timeout`, `source "https://h/a.png?sig=REDACTED&w=1": timeout`},
		{"nested url", "fetch https://p/?u=" + url.QueryEscape("https://h/a?ik-s=abc") + " failed",
			"fetch https://p/?u=" + url.QueryEscape("https://h/a?ik-s=REDACTED") + " failed"},
		{"public host kept", `source "https://img.example.com:8443/a.png": not found (HTTP 404)`, `source "https://img.example.com:8443/a.png": not found (HTTP 404)`},
		{"times kept", "retrying at 10:30:05: timeout after 1.5s", "retrying at 10:30:05: timeout after 1.5s"},
	}
	for _, tt := range tests {
		got := redact.Text(tt.in)
		if got != tt.want {
			t.Errorf("%s: Text(%q) =\n %q, want\n %q", tt.name, tt.in, got, tt.want)
		}
		if again := redact.Text(got); again != got {
			t.Errorf("%s: Text is not idempotent: %q → %q", tt.name, got, again)
		}
	}
}

// FuzzText: any message comes out without a panic, the same when cleaned
// again, and without a planted resolver address, connection address, metadata
// address or URL secret.
func FuzzText(f *testing.F) {
	f.Add("dial tcp 10.1.2.3:8080: connect: connection refused", "")
	f.Add("lookup h on 10.0.0.2:53: no such host", "x")
	f.Add(`Get "http://169.254.169.254/latest/api/token": i/o timeout`, "")
	f.Add(`source "https://h/a.png?sig=1"`, "b")
	f.Fuzz(func(t *testing.T, a, b string) {
		out := redact.Text(a + b)
		if again := redact.Text(out); again != out {
			t.Fatalf("Text(%q) = %q, but Text of that = %q", a+b, out, again)
		}
		if strings.Contains(a+b, "SECRET") || strings.Contains(a+b, "10.77.") || strings.Contains(a+b, "169.254") {
			return
		}
		for _, planted := range []string{
			a + "lookup h on 10.77.0.2:53: no such host" + b,
			a + " dial tcp 10.77.1.2:80: connect: connection refused" + b,
			a + " read tcp 10.77.0.5:5->10.77.1.2:443: reset" + b,
			a + ` Get "http://169.254.169.254/x": ` + b,
			a + " https://h/a?x-amz-signature=SECRET&w=1 " + b,
		} {
			out := redact.Text(planted)
			for _, bad := range []string{"10.77.", "169.254", "SECRET"} {
				if strings.Contains(out, bad) {
					t.Fatalf("Text(%q) = %q keeps %s", planted, out, bad)
				}
			}
		}
	})
}
