package objstore

import (
	"gocloud.dev/blob"
	"gocloud.dev/blob/memblob"
)

// memBucketLocked returns the memory bucket name, creating it. s.mu is held.
func (s *Stores) memBucketLocked(name string) *blob.Bucket {
	b := s.mem[name]
	if b == nil {
		b = memblob.OpenBucket(nil)
		s.mem[name] = b
	}
	return b
}
