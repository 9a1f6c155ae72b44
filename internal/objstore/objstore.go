package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"

	"gocloud.dev/blob"

	"github.com/ikq-dev/ikq/internal/source"
)

// The schemes Register adds to an Opener.
const (
	SchemeS3     = "s3"
	SchemeGCS    = "gs"
	SchemeAzure  = "azblob"
	SchemeMemory = "mem"
)

// Schemes lists the schemes Register adds, in a fixed order.
func Schemes() []string { return []string{SchemeS3, SchemeGCS, SchemeAzure, SchemeMemory} }

// Config configures the object stores. Its zero value reads from AWS, Google
// Cloud Storage and Azure with the credentials their SDKs find in the
// environment.
type Config struct {
	// S3Endpoint is the base URL of an S3-compatible server (MinIO, versitygw,
	// Ceph…), such as http://minio:9000. Buckets are then addressed path-style
	// (endpoint/bucket/key). "" means AWS S3, virtual-hosted.
	S3Endpoint string
	// S3Region is the region requests are signed for, unless a reference names
	// its own with ?region=. "" means the SDK's own (AWS_REGION, the shared
	// config file), else us-east-1.
	S3Region string
	// S3AccessKeyID and S3SecretAccessKey are static S3 credentials. Empty means
	// the AWS SDK's default chain: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
	// AWS_PROFILE and the shared files, web identity, container and instance
	// roles.
	S3AccessKeyID     string
	S3SecretAccessKey string
	// S3MaxAttempts is how many times one S3 request is tried, with the SDK's
	// exponential backoff and jitter, on network errors, 5xx and throttling.
	// 0 means the SDK's default, 3.
	S3MaxAttempts int
}

func (c Config) validate() error {
	if c.S3Endpoint != "" {
		u, err := url.Parse(c.S3Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return errors.New("objstore: S3Endpoint must be an http or https URL, like http://minio:9000")
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("objstore: S3Endpoint must not carry credentials, a query or a fragment (credentials come from S3AccessKeyID/S3SecretAccessKey or the environment)")
		}
	}
	if (c.S3AccessKeyID == "") != (c.S3SecretAccessKey == "") {
		return errors.New("objstore: S3AccessKeyID and S3SecretAccessKey must be set together")
	}
	if c.S3MaxAttempts < 0 {
		return errors.New("objstore: S3MaxAttempts must not be negative")
	}
	return nil
}

// Stores opens objects of the registered schemes, keeping one open bucket per
// store and bucket name for the life of the process. It is safe for concurrent
// use.
type Stores struct {
	cfg Config

	mu      sync.Mutex
	buckets map[bucketID]*blob.Bucket
	mem     map[string]*blob.Bucket
	closed  bool

	s3  s3Clients
	gcs gcsClient
}

// bucketID names one open bucket: region is set for S3 only.
type bucketID struct {
	scheme, region, name string
}

// New returns Stores for cfg, or an error naming the field that is wrong.
// Nothing is contacted until the first Open.
func New(cfg Config) (*Stores, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return &Stores{
		cfg:     cfg,
		buckets: map[bucketID]*blob.Bucket{},
		mem:     map[string]*blob.Bucket{},
	}, nil
}

// Register creates Stores for cfg and registers its schemes (s3, gs, azblob and
// mem) on o. The caller closes the Stores when o is no longer used.
func Register(o *source.Opener, cfg Config) (*Stores, error) {
	s, err := New(cfg)
	if err != nil {
		return nil, err
	}
	s.Register(o)
	return s, nil
}

// Register registers s's schemes on o.
func (s *Stores) Register(o *source.Opener) {
	for _, scheme := range Schemes() {
		o.Register(scheme, s.Open)
	}
}

// Close closes every open bucket. Open fails afterwards; bodies already opened
// may fail too.
func (s *Stores) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	for id, b := range s.buckets {
		if err := b.Close(); err != nil {
			errs = append(errs, fmt.Errorf("closing %s://%s: %w", id.scheme, id.name, err))
		}
	}
	for _, b := range s.mem {
		_ = b.Close() // memory buckets hold nothing to release
	}
	clear(s.buckets)
	clear(s.mem)
	s.gcs.close()
	return errors.Join(errs...)
}

// MemBucket returns the in-memory bucket that mem://name/… references read,
// creating it if needed, for tests to write objects to. It stays open until s
// is closed: callers must not close it.
func (s *Stores) MemBucket(name string) *blob.Bucket {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.memBucketLocked(name)
}

// Open opens the object u names, for source.Opener: a source.OpenFunc for the
// schemes Register adds. The body streams from the store as it is read.
func (s *Stores) Open(ctx context.Context, u *url.URL) (*source.Source, error) {
	ref, err := parseRef(u)
	if err != nil {
		return nil, err
	}
	b, err := s.bucket(ctx, ref)
	if err != nil {
		return nil, err
	}
	// One GET, no HEAD first: the reader carries the size and type, and a
	// missing object costs one round trip.
	r, err := b.NewReader(ctx, ref.key, nil)
	if err != nil && ref.scheme == SchemeS3 && ref.region == "" {
		// The bucket lives in another region than the default: S3 says which.
		// Learn it, and ask there.
		if region := s3WrongRegion(err, s3ClientRegion(b)); region != "" {
			s.learnS3Region(ref.bucket, region)
			s.forget(bucketID{scheme: SchemeS3, name: ref.bucket}, b)
			if b, err = s.bucket(ctx, ref); err != nil {
				return nil, err
			}
			r, err = b.NewReader(ctx, ref.key, nil)
		}
	}
	if err != nil {
		return nil, classify(ctx, ref, err)
	}
	return &source.Source{
		Body:        r,
		Name:        path.Base(ref.key),
		Size:        r.Size(),
		ContentType: declaredType(r.ContentType()),
	}, nil
}

// declaredType drops the generic types stores give objects uploaded without
// one, so that source.Opener sniffs the content instead.
func declaredType(ct string) string {
	mt, _, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(mt)) {
	case "binary/octet-stream", "application/octet-stream": // S3's default; everyone's
		return ""
	}
	return ct
}

// bucket returns the open bucket for ref, opening it on first use.
func (s *Stores) bucket(ctx context.Context, ref objectRef) (*blob.Bucket, error) {
	id := bucketID{scheme: ref.scheme, name: ref.bucket}
	if ref.scheme == SchemeS3 {
		id.region = ref.region
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, errClosed()
	}
	if ref.scheme == SchemeMemory {
		defer s.mu.Unlock()
		b := s.mem[ref.bucket]
		if b == nil {
			return nil, permanent(source.KindNotFound, errors.New("no such bucket"))
		}
		return b, nil
	}
	if b := s.buckets[id]; b != nil {
		s.mu.Unlock()
		return b, nil
	}
	s.mu.Unlock()

	// Opening a bucket makes a client but sends nothing, so two callers racing
	// to open the same one cost little: the first to store it wins.
	var (
		b   *blob.Bucket
		err error
	)
	switch ref.scheme {
	case SchemeS3:
		b, err = s.openS3(ctx, id.region, ref.bucket)
	case SchemeGCS:
		b, err = s.openGCS(ctx, ref.bucket)
	case SchemeAzure:
		b, err = openAzure(ctx, ref.bucket)
	default:
		err = permanent(source.KindInvalid, fmt.Errorf("unsupported scheme %q", ref.scheme))
	}
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = b.Close()
		return nil, errClosed()
	}
	if prev := s.buckets[id]; prev != nil {
		_ = b.Close()
		return prev, nil
	}
	s.buckets[id] = b
	return b, nil
}

// errClosed is retryable: stores close at shutdown, and another worker can
// take the job.
func errClosed() *source.Error {
	return transient(source.KindUnavailable, errors.New("object stores are closed"))
}

// forget drops b from the cache, unless another bucket replaced it already.
// It does not close b: other opens may be using it.
func (s *Stores) forget(id bucketID, b *blob.Bucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.buckets[id] == b {
		delete(s.buckets, id)
	}
}

// permanent and transient build the errors OpenFuncs return; source.Opener
// fills in Ref.
func permanent(kind source.Kind, err error) *source.Error {
	return &source.Error{Kind: kind, Err: err}
}

func transient(kind source.Kind, err error) *source.Error {
	return &source.Error{Kind: kind, Retryable: true, Err: err}
}
