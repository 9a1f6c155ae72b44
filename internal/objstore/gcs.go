package objstore

import (
	"context"
	"net/http"
	"sync"

	"gocloud.dev/blob"
	"gocloud.dev/blob/gcsblob"
	"gocloud.dev/gcp"

	"github.com/ikq-dev/ikq/internal/source"
)

// gcsClient is the one HTTP client, with Application Default Credentials,
// that every gs:// bucket shares. A failure to find credentials is not kept:
// the next open looks again.
type gcsClient struct {
	conns  int // idle connections per host; 0: gcp.DefaultTransport's
	mu     sync.Mutex
	client *gcp.HTTPClient
}

// transport is gcp.DefaultTransport (http.DefaultTransport), or a clone of it
// keeping c.conns idle connections per host.
func (c *gcsClient) transport() http.RoundTripper {
	if c.conns <= 0 {
		return gcp.DefaultTransport()
	}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = c.conns
	t.MaxIdleConns = max(t.MaxIdleConns, c.conns)
	return t
}

func (c *gcsClient) get(ctx context.Context) (*gcp.HTTPClient, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		return c.client, nil
	}
	// GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default
	// credentials, else the metadata server on Google Cloud.
	creds, err := gcp.DefaultCredentials(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, permanent(source.KindForbidden, &credentialsError{store: "Google Cloud Storage", err: err,
			hint: "set GOOGLE_APPLICATION_CREDENTIALS to a service account key file, or run on Google Cloud"})
	}
	client, err := gcp.NewHTTPClient(c.transport(), gcp.CredentialsTokenSource(creds))
	if err != nil {
		return nil, permanent(source.KindForbidden, &credentialsError{store: "Google Cloud Storage", err: err,
			hint: "check GOOGLE_APPLICATION_CREDENTIALS"})
	}
	c.client = client
	return client, nil
}

func (c *gcsClient) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.client != nil {
		c.client.CloseIdleConnections()
		c.client = nil
	}
}

func (s *Stores) openGCS(ctx context.Context, name string) (*blob.Bucket, error) {
	client, err := s.gcs.get(ctx)
	if err != nil {
		return nil, err
	}
	b, err := gcsblob.OpenBucket(ctx, client, name, nil)
	if err != nil {
		return nil, permanent(source.KindInvalid, err)
	}
	return b, nil
}
