package redact_test

import (
	"fmt"
	"net/url"
	"testing"

	"github.com/ikq-dev/ikq/internal/redact"
)

func TestURL(t *testing.T) {
	t.Parallel()
	nestedS3 := "https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=1&X-Amz-Signature=abc"
	tests := []struct{ name, in, want string }{
		// Nothing to redact: byte for byte.
		{"plain", "https://example.com/a.png", "https://example.com/a.png"},
		{"harmless params", "https://example.com/a.jpg?w=100&h=50#top", "https://example.com/a.jpg?w=100&h=50#top"},
		{"object store", "s3://bucket/key.png?region=eu", "s3://bucket/key.png?region=eu"},
		{"file", "file:///srv/a.png", "file:///srv/a.png"},
		{"at in path", "https://example.com/@user/a.png", "https://example.com/@user/a.png"},
		{"empty query", "https://example.com/a.png?", "https://example.com/a.png?"},
		{"not a URL", "hello", "hello"},
		{"empty", "", ""},

		// Userinfo.
		{"user and password", "https://user:secret@example.com/a.png", "https://example.com/a.png"},
		{"lone user (a token)", "https://ghp_tok@example.com/a.png", "https://example.com/a.png"},
		{"two at signs", "https://a@b@example.com/x", "https://example.com/x"},
		{"port kept", "https://u:p@example.com:8443/a%20b.png", "https://example.com:8443/a%20b.png"},
		{"no slashes", "user:secret@example.com/a.png", "example.com/a.png"},
		{"scheme-relative", "//u:p@example.com/a", "//example.com/a"},
		{"hidden scheme-relative", "u@//v@example.com/a", "//example.com/a"},
		{"other scheme", "ftp://u:p@example.com/a.jpg", "ftp://example.com/a.jpg"},

		// Secret parameters, every name of the list, any case.
		{"AWS SigV4", "https://b.s3.amazonaws.com/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIA%2F2025&X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=tok&X-Amz-Signature=abc123",
			"https://b.s3.amazonaws.com/a.jpg?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=REDACTED&X-Amz-Date=20250101T000000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Security-Token=REDACTED&X-Amz-Signature=REDACTED"},
		{"AWS SigV2", "https://b.s3.amazonaws.com/a.jpg?AWSAccessKeyId=AKIA&Expires=1&Signature=abc", "https://b.s3.amazonaws.com/a.jpg?AWSAccessKeyId=REDACTED&Expires=1&Signature=REDACTED"},
		{"GCS V4", "https://storage.googleapis.com/b/a.jpg?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=sa%40p&X-Goog-Signature=ff00",
			"https://storage.googleapis.com/b/a.jpg?X-Goog-Algorithm=GOOG4-RSA-SHA256&X-Goog-Credential=REDACTED&X-Goog-Signature=REDACTED"},
		{"Azure SAS", "https://acct.blob.core.windows.net/c/a.jpg?sv=2022-11-02&se=2025-01-01&sr=b&sp=r&sig=abc%3D",
			"https://acct.blob.core.windows.net/c/a.jpg?sv=REDACTED&se=REDACTED&sr=b&sp=REDACTED&sig=REDACTED"},
		{"ImageKit signed URL", "https://ik.imagekit.io/demo/a.jpg?ik-t=1700000000&ik-s=f00d&tr=w-100", "https://ik.imagekit.io/demo/a.jpg?ik-t=REDACTED&ik-s=REDACTED&tr=w-100"},
		{"tokens", "https://e.com/a?token=1&access_token=2&refresh_token=3&id=4", "https://e.com/a?token=REDACTED&access_token=REDACTED&refresh_token=REDACTED&id=4"},
		{"keys", "https://e.com/a?api_key=1&apikey=2&api-key=3&key=4&private_key=5&keyword=6", "https://e.com/a?api_key=REDACTED&apikey=REDACTED&api-key=REDACTED&key=REDACTED&private_key=REDACTED&keyword=6"},
		{"passwords", "https://e.com/a?secret=1&client_secret=2&password=3&pass=4&pwd=5&passwd=6", "https://e.com/a?secret=REDACTED&client_secret=REDACTED&password=REDACTED&pass=REDACTED&pwd=REDACTED&passwd=REDACTED"},
		{"auth", "https://e.com/a?authorization=1&auth=2&jwt=3&hmac=4&x-hmac-sha256=5&author=6", "https://e.com/a?authorization=REDACTED&auth=REDACTED&jwt=REDACTED&hmac=REDACTED&x-hmac-sha256=REDACTED&author=6"},
		{"oauth code, credential, session", "https://e.com/cb?code=1&state=2&credential=3&sessionid=4", "https://e.com/cb?code=REDACTED&state=2&credential=REDACTED&sessionid=REDACTED"},
		{"signature, sig", "https://e.com/a?signature=1&sig=2&Sig=3&SIGNATURE=4", "https://e.com/a?signature=REDACTED&sig=REDACTED&Sig=REDACTED&SIGNATURE=REDACTED"},
		{"percent-encoded name", "https://e.com/a?%73ig=1&to%6Ben=2", "https://e.com/a?%73ig=REDACTED&to%6Ben=REDACTED"},
		{"plus in name", "https://e.com/a?api+key=1", "https://e.com/a?api+key=REDACTED"},
		{"semicolon separator", "https://e.com/a?w=1;sig=2", "https://e.com/a?w=1;sig=REDACTED"},
		{"empty secret value", "https://e.com/a?sig=&w=1", "https://e.com/a?sig=REDACTED&w=1"},
		{"name without value", "https://e.com/a?sig&w=1", "https://e.com/a?sig&w=1"},
		{"second query appended", "https://e.com/a?w=1?sig=2", "https://e.com/a?w=1%3Fsig%3DREDACTED"},
		{"name holds second query", "https://e.com/a?w?sig=2", "https://e.com/a?w?sig=REDACTED"},

		// Fragments.
		{"fragment params", "https://e.com/a@b.jpg#access_token=x&w=1", "https://e.com/a@b.jpg#access_token=REDACTED&w=1"},
		{"fragment route", "https://app.e.com/#/callback?token=abc&w=1", "https://app.e.com/#/callback?token=REDACTED&w=1"},

		// Nested URLs.
		{"nested signed URL", "https://proxy.e.com/fetch?url=" + url.QueryEscape(nestedS3) + "&w=1",
			"https://proxy.e.com/fetch?url=" + url.QueryEscape("https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=1&X-Amz-Signature=REDACTED") + "&w=1"},
		{"nested userinfo", "https://p.e.com/?u=" + url.QueryEscape("https://u:pw@h/a"), "https://p.e.com/?u=" + url.QueryEscape("https://h/a")},
		{"nested without secrets", "https://p.e.com/?u=" + url.QueryEscape("https://h/a?w=1"), "https://p.e.com/?u=" + url.QueryEscape("https://h/a?w=1")},
		{"nested unencoded", "https://p.e.com/?u=https://h/a?sig=1&w=2", "https://p.e.com/?u=" + url.QueryEscape("https://h/a?sig=REDACTED") + "&w=2"},
		{"nested relative", "https://p.e.com/login?next=%2Fdone%3Ftoken%3Dabc", "https://p.e.com/login?next=" + url.QueryEscape("/done?token=REDACTED")},
		{"double-encoded nested", "https://p.e.com/?u=" + url.QueryEscape(url.QueryEscape(nestedS3)), "https://p.e.com/?u=REDACTED"},
		{"double-encoded harmless", "https://p.e.com/?u=" + url.QueryEscape(url.QueryEscape("https://h/a?w=1")), "https://p.e.com/?u=" + url.QueryEscape(url.QueryEscape("https://h/a?w=1"))},
		{"nested too deep", "https://a/?u=" + url.QueryEscape("https://b/?u="+url.QueryEscape("https://c/?u="+url.QueryEscape("https://d/?u="+url.QueryEscape("https://e/?u="+url.QueryEscape("https://f/?w=1"))))),
			"https://a/?u=" + url.QueryEscape("https://b/?u="+url.QueryEscape("https://c/?u="+url.QueryEscape("https://d/?u="+url.QueryEscape("https://e/?u=REDACTED"))))},

		// What net/url cannot parse.
		{"unparseable, password with slash", "http://user:pa/ss@example.com/a.png", "http://example.com/a.png"},
		{"unparseable, query dropped", "http://[::1?X-Amz-Signature=abc&w=1", "http://[::1?REDACTED"},
		{"unparseable, at after query", "http://user:pa?ss@h/%zz", "http://REDACTED?REDACTED"},
		{"unparseable, at in query", "http://h/%zz?a=@&sig=abc", "http://REDACTED?REDACTED"},
	}
	for _, tt := range tests {
		got := redact.URL(tt.in)
		if got != tt.want {
			t.Errorf("%s: URL(%q) =\n %q, want\n %q", tt.name, tt.in, got, tt.want)
		}
		if again := redact.URL(got); again != got {
			t.Errorf("%s: URL is not idempotent: %q → %q", tt.name, got, again)
		}
	}
}

func TestSecretParam(t *testing.T) {
	t.Parallel()
	// The names the policy promises, in the spellings services use.
	for _, name := range []string{
		"signature", "Signature", "sig", "X-Amz-Signature", "x-amz-credential", "X-Amz-Security-Token",
		"X-Goog-Signature", "X-Goog-Credential", "token", "access_token", "api_key", "apikey", "key",
		"secret", "password", "pass", "private_key", "authorization", "auth", "jwt", "hmac",
		"ik-s", "ik-t", "sv", "se", "sp", "code", "credential", "client_secret", "refresh_token",
		"AWSAccessKeyId", "api.key", "API KEY", "passphrase", "key_passphrase", "IK-S", "ik_s",
	} {
		if !redact.SecretParam(name) {
			t.Errorf("SecretParam(%q) = false", name)
		}
	}
	for _, name := range []string{
		"w", "tr", "X-Amz-Date", "X-Amz-Expires", "X-Amz-Algorithm", "sr", "keyword", "author",
		"state", "page", "monkey", "region", "fileName", "", "sigma", "passage",
	} {
		if redact.SecretParam(name) {
			t.Errorf("SecretParam(%q) = true", name)
		}
	}
}

func ExampleURL() {
	fmt.Println(redact.URL("https://user:pw@bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=20250101T000000Z&X-Amz-Signature=abc"))
	// Output:
	// https://bucket.s3.amazonaws.com/a.jpg?X-Amz-Date=20250101T000000Z&X-Amz-Signature=REDACTED
}
