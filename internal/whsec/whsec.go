// Package whsec reads a Standard Webhooks secret ("whsec_" + the base64 of a key) into
// a signer and verifier. It is what the callback sender and producer.VerifyCallback
// share, and it links nothing but the Standard Webhooks library.
package whsec

import (
	"encoding/base64"
	"errors"
	"strings"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
)

// MinKeyBytes is the shortest key accepted: 128 bits. Standard Webhooks asks for
// 24 to 64 bytes; shorter keys of tests and old setups still work above this floor.
const MinKeyBytes = 16

// ErrSecret: the secret is not "whsec_" followed by the standard base64 of a key of
// at least MinKeyBytes bytes.
var ErrSecret = errors.New(`IKQ_CALLBACK_SECRET must be "whsec_" followed by the base64 of a key of at least 16 bytes`)

// New checks secret and returns the Standard Webhooks signer and verifier keyed with
// it. Surrounding white space (a secret file's trailing newline) is ignored. An empty
// or malformed secret is ErrSecret, which never quotes the secret.
func New(secret string) (*standardwebhooks.Webhook, error) {
	encoded, ok := strings.CutPrefix(strings.TrimSpace(secret), "whsec_")
	if !ok {
		return nil, ErrSecret
	}
	key, err := base64.StdEncoding.DecodeString(encoded)
	if err != nil || len(key) < MinKeyBytes {
		return nil, ErrSecret // the decoder's error would quote a position in the secret
	}
	return standardwebhooks.NewWebhookRaw(key)
}
