package redact

import "strings"

// The names are compared lower-cased and without '-', '_', '.' and spaces, so
// "X-Amz-Signature", "x_amz_signature" and "xamzsignature" are one name.
var (
	// secretNames are secret as whole names only: as parts they are too common.
	secretNames = map[string]bool{
		"sig": true, "key": true, "auth": true, "pass": true, "pwd": true, "passwd": true,
		"code": true, // OAuth authorization code
		"iks":  true, // ImageKit signed URL: ik-s is the signature,
		"ikt":  true, // ik-t its expiry
		// Azure SAS: sig is the signature; version, expiry and permissions go
		// with it so that a SAS token is never shown in part.
		"sv": true, "se": true, "sp": true,
	}
	// secretParts are secret wherever they appear in a name (refresh_token,
	// client_secret, X-Amz-Security-Token, AWSAccessKeyId, ...).
	secretParts = []string{
		"signature", "token", "secret", "password", "credential", "apikey",
		"accesskey", "privatekey", "authorization", "session", "jwt", "hmac",
		"passphrase",
	}
)

// SecretParam reports whether a (decoded) query parameter name looks like it
// carries a secret.
func SecretParam(name string) bool {
	n := normalize(name)
	if secretNames[n] {
		return true
	}
	for _, part := range secretParts {
		if strings.Contains(n, part) {
			return true
		}
	}
	return false
}

func normalize(name string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '_', '.', ' ':
			return -1
		}
		if 'A' <= r && r <= 'Z' {
			return r + 'a' - 'A'
		}
		return r
	}, name)
}
