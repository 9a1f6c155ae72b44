package objstore

import (
	"context"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"gocloud.dev/blob"
)

// testStores are Stores for an S3-compatible endpoint that is never contacted:
// opening a bucket makes a client but sends nothing.
func testStores(t *testing.T, cfg Config) *Stores {
	t.Helper()
	cfg.S3Endpoint = "http://127.0.0.1:1"
	cfg.S3AccessKeyID, cfg.S3SecretAccessKey = "AKIDTEST", "not-a-secret"
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func s3Ref(bucket, region string) objectRef {
	return objectRef{scheme: SchemeS3, bucket: bucket, key: "k.png", region: region}
}

// TestManyRegionsBounded: 9,000 distinct ?region= values, as jobs may name,
// keep at most MaxS3Regions clients and MaxBuckets buckets.
func TestManyRegionsBounded(t *testing.T) {
	t.Parallel()
	s := testStores(t, Config{})
	heap := func() uint64 {
		runtime.GC()
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		return m.HeapInuse
	}
	before := heap()
	for i := range 9000 {
		_, done, err := s.bucket(t.Context(), s3Ref("photos", fmt.Sprintf("r%d", i)))
		if err != nil {
			t.Fatal(err)
		}
		done()
	}
	after := heap()
	s.mu.Lock()
	buckets := s.buckets.Len()
	s.mu.Unlock()
	s.s3.mu.Lock()
	clients := s.s3.clients.Len()
	s.s3.mu.Unlock()
	t.Logf("after 9000 regions: %d S3 clients, %d buckets open; heap in use %.1f MiB → %.1f MiB",
		clients, buckets, float64(before)/(1<<20), float64(after)/(1<<20))
	if clients > DefaultMaxS3Regions || buckets > DefaultMaxBuckets {
		t.Errorf("%d S3 clients (at most %d) and %d buckets (at most %d) kept", clients, DefaultMaxS3Regions, buckets, DefaultMaxBuckets)
	}
}

// TestEvictedBucketClosed: a bucket pushed out of the cache is closed, but
// only once the opens using it are done.
func TestEvictedBucketClosed(t *testing.T) {
	t.Parallel()
	s := testStores(t, Config{MaxBuckets: 2})
	inUse, done, err := s.bucket(t.Context(), s3Ref("in-use", ""))
	if err != nil {
		t.Fatal(err)
	}
	idle, doneIdle, err := s.bucket(t.Context(), s3Ref("idle", ""))
	if err != nil {
		t.Fatal(err)
	}
	doneIdle()
	for _, name := range []string{"third", "fourth"} {
		_, d, err := s.bucket(t.Context(), s3Ref(name, ""))
		if err != nil {
			t.Fatal(err)
		}
		d()
	}
	// A closed bucket says so before contacting anything; an open one tries,
	// and stops at the canceled ctx.
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	closed := func(b *blob.Bucket) bool {
		_, err := b.NewReader(canceled, "k.png", nil)
		return err != nil && strings.Contains(err.Error(), "has been closed")
	}
	if !closed(idle) {
		t.Error("the evicted bucket nobody uses is still open")
	}
	s.mu.Lock()
	_, cached := s.buckets.Peek(bucketID{scheme: SchemeS3, name: "in-use"})
	s.mu.Unlock()
	if cached {
		t.Fatal("the least recently used bucket was not evicted")
	}
	if closed(inUse) {
		t.Fatal("the evicted bucket was closed while in use")
	}
	done()
	done() // idempotent
	if !closed(inUse) {
		t.Error("the evicted bucket was not closed when its last use ended")
	}
}

// TestLearnedRegionsBounded: the bucket → region notes learned from S3's
// redirects are bounded too.
func TestLearnedRegionsBounded(t *testing.T) {
	t.Parallel()
	s := testStores(t, Config{})
	if _, done, err := s.bucket(t.Context(), s3Ref("photos", "")); err != nil {
		t.Fatal(err)
	} else {
		done()
	}
	for i := range maxLearnedRegions + 100 {
		s.learnS3Region(fmt.Sprintf("bucket-%d", i), "eu-west-1")
	}
	s.s3.mu.Lock()
	n := s.s3.regions.Len()
	s.s3.mu.Unlock()
	if n > maxLearnedRegions {
		t.Errorf("%d learned regions kept, at most %d", n, maxLearnedRegions)
	}
}

// TestConfigS3Region: a configured region is checked like a reference's.
func TestConfigS3Region(t *testing.T) {
	t.Parallel()
	for _, r := range []string{"EU", "eu_west", strings.Repeat("a", 33), "-x"} {
		_, err := New(Config{S3Region: r})
		if err == nil || !strings.Contains(err.Error(), "S3Region: not an S3 region name") {
			t.Errorf("S3Region %q: %v", r, err)
		}
	}
	if _, err := New(Config{S3Region: "eu-west-1"}); err != nil {
		t.Error(err)
	}
}

// TestConnsPerHost: the S3 and Cloud Storage clients keep ConnsPerHost idle
// connections per host, where their defaults keep 10 and 2.
func TestConnsPerHost(t *testing.T) {
	t.Parallel()
	s := testStores(t, Config{ConnsPerHost: 24})
	if _, done, err := s.bucket(t.Context(), s3Ref("photos", "")); err != nil {
		t.Fatal(err)
	} else {
		done()
	}
	s.s3.mu.Lock()
	hc := s.s3.cfg.HTTPClient
	s.s3.mu.Unlock()
	bc, ok := hc.(*awshttp.BuildableClient)
	if !ok || bc.GetTransport().MaxIdleConnsPerHost != 24 {
		t.Errorf("S3 HTTP client %T: want a transport keeping 24 idle connections per host", hc)
	}
	if tr, ok := s.gcs.transport().(*http.Transport); !ok || tr.MaxIdleConnsPerHost != 24 {
		t.Errorf("Cloud Storage transport: want 24 idle connections per host")
	}
}
