package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/redis/go-redis/v9"
)

// MinSecretLen is the shortest capability secret accepted, in bytes.
const MinSecretLen = 32

// SecretKey is the Redis key holding the capability secret ikq creates when none is
// configured. It shares the job store's hash tag, so it lives on the jobs' Cluster slot.
const SecretKey = "ikq:{jobs}:webhook-capability-secret" //nolint:gosec // G101: the name of the Redis key that holds the secret, not the secret

// tokenDomain separates capability tokens from any other HMAC made with the same
// secret; the NUL keeps "ikq-webhook"+id unambiguous.
const tokenDomain = "ikq-webhook\x00" //nolint:gosec // G101: a domain-separation prefix of the HMAC input, not a secret

// ErrShortSecret: a capability secret shorter than MinSecretLen bytes.
var ErrShortSecret = fmt.Errorf("webhook: the capability secret must be at least %d bytes", MinSecretLen)

// Capability makes and checks the per-job webhook URLs the worker gives ImageKit:
//
//	{publicURL}/webhooks/imagekit/{jobID}?token={hex HMAC-SHA256(secret, "ikq-webhook\x00"+jobID)}
//
// ImageKit signs none of its per-upload callbacks, so knowing the URL is the proof:
// a token is valid for one job only and cannot be made without the secret.
type Capability struct {
	key []byte
}

// NewCapability returns a Capability keyed with secret, which must be at least
// MinSecretLen bytes. Every ikq process must use the same secret (LoadOrCreateSecret).
func NewCapability(secret []byte) (*Capability, error) {
	if len(secret) < MinSecretLen {
		return nil, ErrShortSecret
	}
	return &Capability{key: append([]byte(nil), secret...)}, nil
}

func (c *Capability) mac(jobID string) []byte {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(tokenDomain))
	m.Write([]byte(jobID))
	return m.Sum(nil)
}

// Token returns the job's token: 64 lowercase hex digits.
func (c *Capability) Token(jobID string) string { return hex.EncodeToString(c.mac(jobID)) }

// URL returns the job's webhook URL under publicURL (trailing slashes are dropped),
// with the job id path-escaped.
func (c *Capability) URL(publicURL, jobID string) string {
	return strings.TrimRight(publicURL, "/") + "/webhooks/imagekit/" + url.PathEscape(jobID) +
		"?token=" + c.Token(jobID)
}

// Valid reports whether token is the job's token, in time independent of where
// they differ.
func (c *Capability) Valid(jobID, token string) bool {
	got, err := hex.DecodeString(token)
	if err != nil || len(got) != sha256.Size {
		return false
	}
	return hmac.Equal(got, c.mac(jobID))
}

// LoadOrCreateSecret returns the capability secret every ikq process shares: the
// configured one (IKQ_WEBHOOK_CAPABILITY_SECRET, any string of at least MinSecretLen
// bytes) or, when none is configured, the one stored in Redis at SecretKey, created
// there by whichever process asks first (32 random bytes, hex), so that the API and
// all workers agree without configuration. The stored secret never expires.
func LoadOrCreateSecret(ctx context.Context, rdb redis.UniversalClient, configured string) ([]byte, error) {
	if configured != "" {
		if len(configured) < MinSecretLen {
			return nil, ErrShortSecret
		}
		return []byte(configured), nil
	}
	if rdb == nil {
		return nil, errors.New("webhook: no capability secret configured and no Redis to keep one in")
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("webhook: making the capability secret: %w", err)
	}
	// SET NX then GET: the first writer wins and everyone reads its value.
	if err := rdb.SetNX(ctx, SecretKey, hex.EncodeToString(b), 0).Err(); err != nil {
		return nil, fmt.Errorf("webhook: storing the capability secret: %w", err)
	}
	s, err := rdb.Get(ctx, SecretKey).Result()
	if err != nil {
		return nil, fmt.Errorf("webhook: reading the capability secret: %w", err)
	}
	if len(s) < MinSecretLen {
		return nil, fmt.Errorf("webhook: the capability secret stored at %s is shorter than %d bytes; delete it to make a new one", SecretKey, MinSecretLen)
	}
	return []byte(s), nil
}
