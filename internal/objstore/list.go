package objstore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"gocloud.dev/blob"
)

// Object is one object a listing found.
type Object struct {
	Key  string // the whole key
	Size int64
	Ref  string // its reference, as a job's file: scheme://bucket/key
}

// List streams the objects under a prefix reference (s3://bucket/prefix, gs://…,
// azblob://…, mem://…) to yield, in the store's order (lexical for every store ikq
// supports), a page at a time: memory does not grow with the number of objects. An
// empty prefix lists the whole bucket. It stops at yield's first error.
func (s *Stores) List(ctx context.Context, prefixRef string, yield func(Object) error) error {
	u, err := url.Parse(prefixRef)
	if err != nil {
		return fmt.Errorf("objstore: %q is not a reference: %w", prefixRef, err)
	}
	// parseRef wants an object key: check the reference with a stand-in one.
	probe := *u
	prefix := strings.TrimPrefix(u.Path, "/")
	probe.Path = "/" + prefix + "x"
	ref, err := parseRef(&probe)
	if err != nil {
		return fmt.Errorf("objstore: listing %s: %w", prefixRef, err)
	}
	b, done, err := s.bucket(ctx, ref)
	if err != nil {
		return fmt.Errorf("objstore: listing %s: %w", prefixRef, err)
	}
	defer done()
	it := b.List(&blob.ListOptions{Prefix: prefix})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("objstore: listing %s: %w", prefixRef, classify(ctx, ref, err))
		}
		if obj.IsDir {
			continue
		}
		o := url.URL{Scheme: ref.scheme, Host: ref.bucket, Path: "/" + obj.Key}
		if ref.region != "" {
			o.RawQuery = url.Values{"region": {ref.region}}.Encode()
		}
		if err := yield(Object{Key: obj.Key, Size: obj.Size, Ref: o.String()}); err != nil {
			return err
		}
	}
}
