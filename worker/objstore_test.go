package worker_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ikq-dev/ikq/internal/ikqtest"
	"github.com/ikq-dev/ikq/internal/ikqtest/e2e"
	"github.com/ikq-dev/ikq/internal/jobstore"
	"github.com/ikq-dev/ikq/internal/objstore"
	"github.com/ikq-dev/ikq/internal/objstore/s3test"
	"github.com/ikq-dev/ikq/tasks"
)

// withObjectStores registers the object stores of cfg on the stack's opener and
// starts its worker. The stack must have been made withoutWorker.
func (s *stack) withObjectStores(cfg objstore.Config) *objstore.Stores {
	s.T.Helper()
	stores, err := objstore.Register(s.opener, cfg)
	if err != nil {
		s.T.Fatal(err)
	}
	// Registered before the worker's cleanup, so it runs after the worker stops.
	s.T.Cleanup(func() { _ = stores.Close() })
	s.worker = s.startWorker(nil)
	return stores
}

// An s3:// source on a real S3-compatible server streams through the worker into
// the Upload API, byte for byte; a missing object fails the job at once.
func TestS3Source(t *testing.T) {
	t.Parallel()
	srv := s3test.Start(t)
	srv.CreateBucket(t, "uploads")
	body := ikqtest.PNG(t, 7, 64, 48)
	srv.Put(t, "uploads", "2024/red shoe.png", body, "image/png")

	s := newStack(t, withoutWorker())
	s.withObjectStores(objstore.Config{
		S3Endpoint:        srv.Endpoint,
		S3Region:          srv.Region,
		S3AccessKeyID:     srv.AccessKey,
		S3SecretAccessKey: srv.SecretKey,
		S3MaxAttempts:     1,
	})

	job := s.Enqueue(tasks.Upload{File: "s3://uploads/2024/red%20shoe.png", FileName: "shoe.png"})
	job = waitFor(t, s.Producer, job.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if job.Status != jobstore.StatusCompleted {
		t.Fatalf("status %s; record:\n%s", job.Status, e2e.RecordText(job))
	}
	res := resultOf(t, job)
	if res.Size != int64(len(body)) {
		t.Errorf("result size %d, want %d", res.Size, len(body))
	}
	if got := ikqtest.Get(t, res.URL); !bytes.Equal(got, body) {
		t.Errorf("stored %d bytes, want the %d in the bucket", len(got), len(body))
	}

	missing := s.Enqueue(tasks.Upload{File: "s3://uploads/2024/missing.png", FileName: "missing.png", MaxAttempts: 5})
	missing = waitFor(t, s.Producer, missing.ID, jobstore.StatusCompleted, jobstore.StatusFailed)
	if missing.Status != jobstore.StatusFailed || missing.Error == nil {
		t.Fatalf("status %s; want failed; record:\n%s", missing.Status, e2e.RecordText(missing))
	}
	if e := missing.Error; e.Retryable || e.Code != "source_not_found" || !strings.Contains(e.Message, "no such object") || missing.Attempts != 1 {
		t.Errorf("error %+v after %d attempts; want a permanent source_not_found saying no such object, after 1", e, missing.Attempts)
	}
}
