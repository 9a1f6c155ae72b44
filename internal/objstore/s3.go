package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"
	"github.com/hashicorp/golang-lru/v2/simplelru"
	"gocloud.dev/blob"
	"gocloud.dev/blob/s3blob"

	"github.com/ikq-dev/ikq/internal/source"
)

// defaultS3Region is the region used when neither Config nor the environment
// names one: AWS's oldest, and what S3-compatible servers expect by default.
const defaultS3Region = "us-east-1"

// s3Clients holds the AWS configuration, loaded once, a client for each of the
// regions used most recently, and the regions learned for buckets outside the
// default one. A client has nothing to close: an evicted one is left to the
// garbage collector, its connections to the shared HTTP client.
type s3Clients struct {
	mu      sync.Mutex
	cfg     *aws.Config
	clients *simplelru.LRU[string, *s3.Client]
	regions *simplelru.LRU[string, string] // bucket → region, learned from redirects
}

// openS3 opens bucket name in region ("" for the default region, or the one
// learned for this bucket).
func (s *Stores) openS3(ctx context.Context, region, name string) (*blob.Bucket, error) {
	client, err := s.s3Client(ctx, region, name)
	if err != nil {
		return nil, err
	}
	b, err := s3blob.OpenBucket(ctx, client, name, nil)
	if err != nil {
		return nil, permanent(source.KindInvalid, err)
	}
	return b, nil
}

func (s *Stores) s3Client(ctx context.Context, region, bucket string) (*s3.Client, error) {
	c := &s.s3
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cfg == nil {
		cfg, err := s.loadAWSConfig(ctx)
		if err != nil {
			return nil, err
		}
		c.cfg = &cfg
		// Sizes are at least 1 (New): these cannot fail.
		c.clients, _ = simplelru.NewLRU[string, *s3.Client](s.cfg.MaxS3Regions, nil)
		c.regions, _ = simplelru.NewLRU[string, string](maxLearnedRegions, nil)
	}
	if region == "" {
		region, _ = c.regions.Get(bucket)
	}
	if region == "" {
		region = c.cfg.Region
	}
	if client, ok := c.clients.Get(region); ok {
		return client, nil
	}
	client := s3.NewFromConfig(*c.cfg, func(o *s3.Options) {
		o.Region = region
		if s.cfg.S3Endpoint != "" {
			o.BaseEndpoint = aws.String(s.cfg.S3Endpoint)
			o.UsePathStyle = true
		}
		if s.cfg.S3MaxAttempts > 0 {
			o.RetryMaxAttempts = s.cfg.S3MaxAttempts
		}
	})
	c.clients.Add(region, client)
	return client, nil
}

// learnS3Region records that bucket lives in region, so later references
// without ?region= go there at once.
func (s *Stores) learnS3Region(bucket, region string) {
	c := &s.s3
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.regions != nil {
		c.regions.Add(bucket, region)
	}
}

// loadAWSConfig reads the AWS configuration the way the AWS CLI does, with
// Config's overrides.
func (s *Stores) loadAWSConfig(ctx context.Context) (aws.Config, error) {
	var opts []func(*config.LoadOptions) error
	if s.cfg.S3Region != "" {
		opts = append(opts, config.WithRegion(s.cfg.S3Region))
	}
	if n := s.cfg.ConnsPerHost; n > 0 {
		opts = append(opts, config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
			t.MaxIdleConnsPerHost = n
			t.MaxIdleConns = max(t.MaxIdleConns, n)
		})))
	}
	if s.cfg.S3AccessKeyID != "" {
		opts = append(opts, config.WithCredentialsProvider(
			credentials.NewStaticCredentialsProvider(s.cfg.S3AccessKeyID, s.cfg.S3SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		if ctx.Err() != nil {
			return aws.Config{}, ctx.Err()
		}
		return aws.Config{}, permanent(source.KindInvalid, fmt.Errorf("the AWS configuration cannot be loaded: %w", err))
	}
	if cfg.Region == "" {
		cfg.Region = defaultS3Region
	}
	// The SDK would print its debug notes to stderr; failures come back as
	// errors anyway.
	cfg.Logger = logging.Nop{}
	if cfg.Credentials != nil {
		cfg.Credentials = credentialsProvider{cfg.Credentials}
	}
	return cfg, nil
}

// credentialsProvider marks the errors of getting credentials, which are the
// worker's configuration to fix, not the job's to retry.
type credentialsProvider struct{ aws.CredentialsProvider }

func (p credentialsProvider) Retrieve(ctx context.Context) (aws.Credentials, error) {
	creds, err := p.CredentialsProvider.Retrieve(ctx)
	if err != nil && ctx.Err() == nil {
		return creds, &credentialsError{store: "S3", err: err,
			hint: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or give the worker a role"}
	}
	return creds, err
}

// credentialsError is a failure to find or use a store's credentials.
type credentialsError struct {
	store, hint string
	err         error
}

func (e *credentialsError) Error() string {
	return fmt.Sprintf("no usable %s credentials (%s): %v", e.store, e.hint, e.err)
}

func (e *credentialsError) Unwrap() error { return e.err }

// s3WrongRegion returns the bucket's region when err says the bucket lives in
// another region than the one asked.
func s3WrongRegion(err error, asked string) string {
	var re *awshttp.ResponseError
	if !errors.As(err, &re) || re.Response == nil {
		return ""
	}
	if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" && r != asked && CheckRegion(r) == nil {
		return r
	}
	return ""
}

// s3ClientRegion is the region a bucket's requests are signed for.
func s3ClientRegion(b *blob.Bucket) string {
	var client *s3.Client
	if b.As(&client) {
		return client.Options().Region
	}
	return ""
}
