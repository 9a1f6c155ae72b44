package redact

import (
	"net/url"
	"strings"
)

// Mask replaces every secret value.
const Mask = "REDACTED"

// maxDepth bounds the recursion into parameter values that are URLs; deeper
// values are masked wholesale.
const maxDepth = 4

// URL returns s with its userinfo removed and the values of secret-looking
// parameters masked (see the package doc). Strings that are not URLs come back
// unchanged unless they hold an '@' before the first '/', '?' or '#' (which may
// be userinfo) or parameters.
func URL(s string) string { return redactURL(s, 0) }

func redactURL(s string, depth int) string {
	if _, err := url.Parse(s); err != nil {
		return unparseable(s)
	}
	rest, fragment, hasFragment := strings.Cut(s, "#")
	rest, query, hasQuery := strings.Cut(rest, "?")
	prefix, rest := splitPrefix(rest)
	// Userinfo ends at the last '@' of the authority, as net/url reads it. Without
	// "//" the scheme may really be a user name ("user:pass@host"), so it counts
	// as authority too.
	for {
		auth := rest
		if i := strings.IndexByte(rest, '/'); i >= 0 {
			auth = rest[:i]
		}
		i := strings.LastIndexByte(auth, '@')
		if i < 0 {
			break
		}
		rest = rest[i+1:]
		// What was userinfo may have hidden a scheme-relative "//authority".
		if prefix != "" || !strings.HasPrefix(rest, "//") {
			break
		}
		prefix, rest = "//", rest[2:]
	}
	var b strings.Builder
	b.WriteString(prefix)
	b.WriteString(rest)
	if hasQuery {
		b.WriteString("?")
		b.WriteString(params(query, depth))
	}
	if hasFragment {
		// A fragment may hold parameters (OAuth's "#access_token=") or a route with
		// its own query (single-page apps' "#/callback?token="; param reads the
		// name after the '?').
		b.WriteString("#")
		b.WriteString(params(fragment, depth))
	}
	out := b.String()
	if _, err := url.Parse(out); err != nil {
		// Removing the userinfo left what net/url cannot read ("@// x" becomes
		// "// x"): redact it as such, so that redacting again changes nothing.
		return unparseable(s)
	}
	return out
}

// unparseable redacts what net/url rejects. Nobody can tell where its userinfo
// ends or its query begins, so everything from the first '?' or '#' is dropped,
// the authority runs to the last '@', and if an '@' comes after the '?' or '#'
// (a password holding one?) the authority goes too.
func unparseable(s string) string {
	head, tail := s, ""
	if i := strings.IndexAny(s, "?#"); i >= 0 {
		head, tail = s[:i], s[i:]
	}
	prefix, rest := splitPrefix(head)
	if strings.Contains(tail, "@") {
		rest = Mask
	} else if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	if tail != "" {
		rest += "?" + Mask
	}
	return prefix + rest
}

// splitPrefix splits off "scheme://" or a scheme-relative "//".
func splitPrefix(s string) (prefix, rest string) {
	if i := strings.IndexByte(s, ':'); i > 0 && ValidScheme(s[:i]) && strings.HasPrefix(s[i+1:], "//") {
		return s[:i+3], s[i+3:]
	}
	if strings.HasPrefix(s, "//") {
		return "//", s[2:]
	}
	return "", s
}

// params masks the secret values of a query or fragment. Parameters are split on
// '&' and ';' (some servers still read ';' as a separator), and the separators
// are kept as they were.
func params(q string, depth int) string {
	var b strings.Builder
	for {
		i := strings.IndexAny(q, "&;")
		seg := q
		if i >= 0 {
			seg = q[:i]
		}
		b.WriteString(param(seg, depth))
		if i < 0 {
			return b.String()
		}
		b.WriteByte(q[i])
		q = q[i+1:]
	}
}

func param(seg string, depth int) string {
	name, value, ok := strings.Cut(seg, "=")
	if !ok {
		return seg
	}
	dn := unescape(name)
	// "a?sig=x" inside a query is read by servers as the name "a?sig", but it is
	// most likely a second query appended by mistake: its last part counts too.
	last := dn[strings.LastIndexAny(dn, "?#")+1:]
	if SecretParam(dn) || SecretParam(last) {
		return name + "=" + Mask
	}
	if value == "" {
		return seg
	}
	dv := unescape(value)
	if looksLikeURL(dv) {
		if r := nested(dv, depth); r != dv {
			return name + "=" + url.QueryEscape(r)
		}
		return seg
	}
	// A URL encoded more than once: masked whole if it holds anything to redact.
	for range maxDepth {
		next := unescape(dv)
		if next == dv {
			break
		}
		dv = next
		if looksLikeURL(dv) {
			if nested(dv, depth) != dv {
				return name + "=" + Mask
			}
			break
		}
	}
	return seg
}

func nested(s string, depth int) string {
	if depth >= maxDepth {
		return Mask
	}
	return redactURL(s, depth+1)
}

// looksLikeURL says whether a parameter value may carry userinfo or parameters
// of its own: an absolute URL, or anything with a query or fragment.
func looksLikeURL(s string) bool {
	return strings.Contains(s, "://") || strings.ContainsAny(s, "?#")
}

// unescape decodes a query component as servers do ('+' is a space), leniently:
// an invalid escape stays as it is instead of failing the whole component.
func unescape(s string) string {
	if !strings.ContainsAny(s, "%+") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '+':
			b = append(b, ' ')
		case c == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]):
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
		default:
			b = append(b, c)
		}
	}
	return string(b)
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c <= '9':
		return c - '0'
	case c <= 'F':
		return c - 'A' + 10
	}
	return c - 'a' + 10
}

// ValidScheme is RFC 3986's scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ).
func ValidScheme(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}
