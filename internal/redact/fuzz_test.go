package redact_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/redact"
)

// FuzzURL checks the properties of any input: no panic, idempotence, no
// userinfo and no secret parameter with a value other than the mask.
func FuzzURL(f *testing.F) {
	for _, s := range []string{
		"https://user:secret@example.com/a.png?X-Amz-Signature=abc&w=1",
		"https://example.com/a.png#frag?x", "http://a@b@c/d@e?f#g", "user:pass@host/x",
		"http://user:pa/ss@host/x", "s3://bucket/key?region=eu", "file:///a/b",
		"https://p/?u=https%3A%2F%2Fh%2F%3Fsig%3D1", "https://p/?u=https%253A%252F%252Fh%252F%253Fsig%253D1",
		"https://a/#/cb?token=1", "http://h/%zz?a=@&sig=abc", "", ":", "//u:p@h/", "a:b@c:d@e/f",
		"https://e/?a;sig=1;b", "https://e/?%73ig=1", "https://e/?x=1?sig=2",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := redact.URL(s)
		if again := redact.URL(out); again != out {
			t.Fatalf("URL(%q) = %q, but URL(%q) = %q", s, out, out, again)
		}
		u, err := url.Parse(out)
		if err != nil {
			return
		}
		if u.User != nil {
			t.Fatalf("URL(%q) = %q keeps userinfo %q", s, out, u.User)
		}
		for _, raw := range []string{u.RawQuery, u.EscapedFragment()} {
			q, _ := url.ParseQuery(raw) // what parses; the rest is checked by the table
			for name, values := range q {
				if !redact.SecretParam(name) {
					continue
				}
				for _, v := range values {
					if v != redact.Mask && v != "" { // a bare name has no value to hide
						t.Fatalf("URL(%q) = %q keeps %s=%q", s, out, name, v)
					}
				}
			}
		}
	})
}

// FuzzURLSecret puts a known secret in every place the policy masks, around
// whatever the fuzzer makes, and checks that it never comes out.
func FuzzURLSecret(f *testing.F) {
	f.Add("https://example.com/a.png", uint8(0), false, "w=1", uint8(0))
	f.Add("https://example.com/a.png?x=1", uint8(3), true, "", uint8(1))
	f.Add("https://example.com/#", uint8(7), false, "a?b", uint8(2))
	f.Add("example.com/a", uint8(9), false, "", uint8(3))
	f.Add("https://p/", uint8(11), true, "", uint8(4))
	names := []string{
		"signature", "sig", "x-amz-signature", "x-amz-credential", "x-amz-security-token",
		"x-goog-signature", "x-goog-credential", "token", "access_token", "api_key", "apikey",
		"key", "secret", "password", "pass", "private_key", "authorization", "auth", "jwt",
		"hmac", "ik-s", "ik-t", "sv", "se", "sp", "code", "credential",
		"X-Amz-Security-Token", "client_secret", "refresh_token", "AWSAccessKeyId", "passphrase",
	}
	const secret = "Zx7SECRETq9"
	f.Fuzz(func(t *testing.T, prefix string, nameIdx uint8, upper bool, suffix string, mode uint8) {
		if strings.Contains(prefix+suffix, "SECRET") {
			return
		}
		name := names[int(nameIdx)%len(names)]
		if upper {
			name = strings.ToUpper(name)
		}
		param := name + "=" + secret
		var s string
		switch mode % 10 {
		case 0: // in the query
			s = prefix + "?" + param + "&" + suffix
		case 1: // in a nested URL
			s = prefix + "?next=" + url.QueryEscape("https://h/a?"+param+"&"+suffix)
		case 2: // in the fragment
			s = prefix + "#" + param + "&" + suffix
		case 3: // as the password
			s = "https://user:" + secret + "@" + prefix + suffix
		case 4: // in a URL encoded twice
			s = prefix + "?next=" + url.QueryEscape(url.QueryEscape("https://h/a?"+param))
		case 5: // in a URL nested in the fragment
			s = prefix + "#next=" + url.QueryEscape("https://h/a?"+param+"&"+suffix)
		case 6: // in a URL nested in a nested URL
			s = prefix + "?u=" + url.QueryEscape("https://p/?v="+url.QueryEscape("https://h/a?"+param)+"&"+suffix)
		case 7: // in a nested URL left unencoded
			s = prefix + "?u=https://h/a?" + param + "&" + suffix
		case 8: // after a ';' separator
			s = prefix + "?" + suffix + ";" + param
		case 9: // as the password of a nested URL
			s = prefix + "?u=" + url.QueryEscape("https://user:"+secret+"@h/a") + "&" + suffix
		}
		if out := redact.URL(s); strings.Contains(out, secret) {
			t.Fatalf("URL(%q) = %q reveals the secret", s, out)
		}
	})
}
