package objstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/hashicorp/golang-lru/v2/simplelru"
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

// Defaults of the cache sizes. References are the jobs' to write: every
// distinct bucket and ?region= would otherwise keep a handle or a client for
// the life of the process.
const (
	DefaultMaxBuckets   = 256
	DefaultMaxS3Regions = 32 // more than AWS has commercial regions
	// maxLearnedRegions bounds the bucket → region notes learned from S3's
	// redirects.
	maxLearnedRegions = 4096
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
	// MaxBuckets is how many buckets stay open (least recently used first
	// out, closed when evicted); 0 means DefaultMaxBuckets.
	MaxBuckets int
	// MaxS3Regions is how many S3 clients, one per region, are kept (least
	// recently used first out); 0 means DefaultMaxS3Regions.
	MaxS3Regions int
	// ConnsPerHost is how many idle connections the S3 and Google Cloud Storage
	// clients keep per host: as many as the sources read at once (a worker's
	// concurrency). 0 means the SDKs' own (S3 10, Cloud Storage 2).
	ConnsPerHost int
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
	if c.S3Region != "" {
		if err := CheckRegion(c.S3Region); err != nil {
			return fmt.Errorf("objstore: S3Region: %w", err)
		}
	}
	if c.MaxBuckets < 0 || c.MaxS3Regions < 0 || c.ConnsPerHost < 0 {
		return errors.New("objstore: MaxBuckets, MaxS3Regions and ConnsPerHost must not be negative")
	}
	return nil
}

// Stores opens objects of the registered schemes, keeping the buckets used
// most recently open (Config.MaxBuckets). It is safe for concurrent use.
type Stores struct {
	cfg Config

	mu        sync.Mutex
	buckets   *simplelru.LRU[bucketID, *openBucket]
	mem       map[string]*blob.Bucket
	closed    bool
	closeErrs []error // of buckets closed by Close, or after it by their last user

	s3  s3Clients
	gcs gcsClient
}

// bucketID names one open bucket: region is set for S3 only.
type bucketID struct {
	scheme, region, name string
}

// openBucket is a cached bucket and the opens using it: an evicted bucket is
// closed when the last of them is done.
type openBucket struct {
	b       *blob.Bucket
	users   int
	evicted bool
}

// New returns Stores for cfg, or an error naming the field that is wrong.
// Nothing is contacted until the first Open.
func New(cfg Config) (*Stores, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if cfg.MaxBuckets == 0 {
		cfg.MaxBuckets = DefaultMaxBuckets
	}
	if cfg.MaxS3Regions == 0 {
		cfg.MaxS3Regions = DefaultMaxS3Regions
	}
	s := &Stores{cfg: cfg, mem: map[string]*blob.Bucket{}, gcs: gcsClient{conns: cfg.ConnsPerHost}}
	// simplelru fails only on a size below 1, which cfg cannot have now. It is
	// used under s.mu, so its eviction callback runs under s.mu too.
	s.buckets, _ = simplelru.NewLRU(cfg.MaxBuckets, s.evicted)
	return s, nil
}

// evicted closes a bucket dropped from the cache, or marks it for its last
// user to close. s.mu is held.
func (s *Stores) evicted(id bucketID, ob *openBucket) {
	ob.evicted = true
	if ob.users == 0 {
		s.closeBucket(id, ob)
	}
}

// closeBucket closes ob; errors matter only to Close. s.mu is held.
func (s *Stores) closeBucket(id bucketID, ob *openBucket) {
	if err := ob.b.Close(); err != nil && s.closed {
		s.closeErrs = append(s.closeErrs, fmt.Errorf("closing %s://%s: %w", id.scheme, id.name, err))
	}
}

// release ends one use of a bucket that bucket returned.
func (s *Stores) release(id bucketID, ob *openBucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ob.users--; ob.users == 0 && ob.evicted {
		s.closeBucket(id, ob)
	}
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
	s.buckets.Purge() // closes each bucket, or leaves it to its last user
	for _, b := range s.mem {
		_ = b.Close() // memory buckets hold nothing to release
	}
	clear(s.mem)
	s.gcs.close()
	return errors.Join(s.closeErrs...)
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
	b, done, err := s.bucket(ctx, ref)
	if err != nil {
		return nil, err
	}
	// One GET, no HEAD first: the reader carries the size and type, and a
	// missing object costs one round trip. The reader needs the bucket no
	// longer.
	r, err := b.NewReader(ctx, ref.key, nil)
	done()
	if err != nil && ref.scheme == SchemeS3 && ref.region == "" {
		// The bucket lives in another region than the default: S3 says which.
		// Learn it, and ask there.
		if region := s3WrongRegion(err, s3ClientRegion(b)); region != "" {
			s.learnS3Region(ref.bucket, region)
			s.forget(bucketID{scheme: SchemeS3, name: ref.bucket}, b)
			if b, done, err = s.bucket(ctx, ref); err != nil {
				return nil, err
			}
			r, err = b.NewReader(ctx, ref.key, nil)
			done()
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

// bucket returns the open bucket for ref, opening it on first use, and done,
// which ends this use of it: a bucket evicted from the cache meanwhile is
// closed when its last use ends.
func (s *Stores) bucket(ctx context.Context, ref objectRef) (b *blob.Bucket, done func(), err error) {
	id := bucketID{scheme: ref.scheme, name: ref.bucket}
	if ref.scheme == SchemeS3 {
		id.region = ref.region
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, nil, errClosed()
	}
	if ref.scheme == SchemeMemory {
		defer s.mu.Unlock()
		b := s.mem[ref.bucket]
		if b == nil {
			return nil, nil, permanent(source.KindNotFound, errors.New("no such bucket"))
		}
		return b, func() {}, nil
	}
	if ob, ok := s.buckets.Get(id); ok {
		ob.users++
		s.mu.Unlock()
		return ob.b, s.doneFunc(id, ob), nil
	}
	s.mu.Unlock()

	// Opening a bucket makes a client but sends nothing, so two callers racing
	// to open the same one cost little: the first to store it wins.
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
		return nil, nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		_ = b.Close()
		return nil, nil, errClosed()
	}
	if prev, ok := s.buckets.Get(id); ok {
		_ = b.Close()
		prev.users++
		return prev.b, s.doneFunc(id, prev), nil
	}
	ob := &openBucket{b: b, users: 1}
	s.buckets.Add(id, ob)
	return b, s.doneFunc(id, ob), nil
}

func (s *Stores) doneFunc(id bucketID, ob *openBucket) func() {
	var once sync.Once
	return func() { once.Do(func() { s.release(id, ob) }) }
}

// errClosed is retryable: stores close at shutdown, and another worker can
// take the job.
func errClosed() *source.Error {
	return transient(source.KindUnavailable, errors.New("object stores are closed"))
}

// forget drops b from the cache, unless another bucket replaced it already. It
// is closed once no open uses it.
func (s *Stores) forget(id bucketID, b *blob.Bucket) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ob, ok := s.buckets.Peek(id); ok && ob.b == b {
		s.buckets.Remove(id)
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
