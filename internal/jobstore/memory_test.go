package jobstore

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/ikq-dev/ikq/internal/redisproc"
)

// migrationJob is what ikq bulk asks of one file of a migration: a run, an
// idempotency key, a folder, tags and a callback.
func migrationJob(run string, i int) (*Job, json.RawMessage) {
	spec := fmt.Sprintf(`{"file":"https://media.example.com/archive/2024/06/IMG_%05d.jpg","fileName":"IMG_%05d_k3Jd9xQ2a.jpg",`+
		`"useUniqueFileName":false,"tags":["archive","2024"],"folder":"/migrations/archive/2024/06",`+
		`"callbackUrl":"https://app.example.com/hooks/ikq?token=s3cr3t","maxAttempts":5,`+
		`"idempotencyKey":"bulk:%032x","ifExists":"skip","run":%q}`, i, i, i, run)
	redacted := strings.Replace(spec, "token=s3cr3t", "token=REDACTED", 1)
	return &Job{
		Queue: "default", MaxAttempts: 5, Run: run, IdempotencyKey: fmt.Sprintf("bulk:%032x", i),
		Request:  json.RawMessage(redacted),
		Callback: &Callback{URL: "https://app.example.com/hooks/ikq?token=REDACTED"},
	}, json.RawMessage(spec)
}

// uploadResult is an Upload API answer of the usual size.
func uploadResult(i int) (json.RawMessage, string) {
	fileID := fmt.Sprintf("6673f1e7a1b2c3d4%08x", i)
	path := fmt.Sprintf("/migrations/archive/2024/06/IMG_%05d_k3Jd9xQ2a.jpg", i)
	return json.RawMessage(fmt.Sprintf(`{"fileId":%q,"name":"IMG_%05d_k3Jd9xQ2a.jpg","size":482113,`+
		`"versionInfo":{"id":%q,"name":"Version 1"},"filePath":%q,"url":"https://ik.imagekit.io/demo%s",`+
		`"fileType":"image","AITags":null,"height":3024,"width":4032,`+
		`"thumbnailUrl":"https://ik.imagekit.io/demo/tr:n-ik_ml_thumbnail%s","orientation":1}`,
		fileID, i, fileID, path, path, path)), fileID
}

// finishMigrationJob takes a job through what a worker and the completion tracker
// write: active, the upload recorded as completed, the callback delivered.
func finishMigrationJob(ctx context.Context, s *Store, id string, i int) error {
	if _, err := s.Transition(ctx, id, StatusActive, "attempt 1 of 5", func(j *Job) error {
		j.Attempts = 1
		return nil
	}); err != nil {
		return err
	}
	res, fileID := uploadResult(i)
	if _, err := s.Transition(ctx, id, StatusCompleted, "uploaded to /migrations/archive/2024/06/IMG.jpg", func(j *Job) error {
		j.Result, j.FileID = res, fileID
		return nil
	}); err != nil {
		return err
	}
	_, err := s.Update(ctx, id, func(j *Job) error {
		if j.Callback != nil {
			j.Callback.Status, j.Callback.Attempts = "delivered", 1
		}
		return nil
	})
	return err
}

// footprint is what n finished jobs hold in a Redis of their own.
type footprint struct {
	keys, usage, usedMemory int64 // MEMORY USAGE summed over the keys; INFO used_memory delta
}

// measureFinished runs n jobs to completed in a Redis of their own; migration jobs
// (a run, an idempotency key, a callback) or plain ones (none of these).
func measureFinished(t *testing.T, n int, migration bool) footprint {
	t.Helper()
	if _, err := redisproc.LookPath(); err != nil {
		t.Skip("needs redis-server: MEMORY USAGE")
	}
	// Indexes as they are at scale: a shard's status set of more than 128 jobs is a
	// skiplist, not a listpack.
	p, err := redisproc.Start(redisproc.Options{Args: []string{"--zset-max-listpack-entries", "0"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Stop)
	rdb := redis.NewClient(&redis.Options{Addr: p.Addr()})
	t.Cleanup(func() { _ = rdb.Close() })
	ctx := t.Context()
	s := New(rdb, Options{Now: newClock().Now})
	if _, _, err := s.Create(ctx, &Job{Queue: "default"}, nil); err != nil { // loads the scripts
		t.Fatal(err)
	}
	before := usedMemory(t, rdb)
	for i := range n {
		j, spec := migrationJob("mig-20240601", i)
		if !migration {
			j.Run, j.IdempotencyKey, j.Callback = "", "", nil
		}
		job, _, err := s.Create(ctx, j, spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := finishMigrationJob(ctx, s, job.ID, i); err != nil {
			t.Fatal(err)
		}
	}
	var f footprint
	f.usedMemory = usedMemory(t, rdb) - before
	iter := rdb.Scan(ctx, 0, "ikq:*", 1000).Iterator()
	for iter.Next(ctx) {
		f.keys++
		u, err := rdb.MemoryUsage(ctx, iter.Val(), 0).Result()
		if err != nil {
			t.Fatal(err)
		}
		f.usage += u
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	return f
}

func usedMemory(t *testing.T, rdb *redis.Client) int64 {
	t.Helper()
	info, err := rdb.Info(t.Context(), "memory").Result()
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(info, "\r\n") {
		if v, ok := strings.CutPrefix(line, "used_memory:"); ok {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatal("INFO memory has no used_memory")
	return 0
}

// TestFinishedJobMemory prints what a finished job costs Redis, and how many the
// default retention lets a GB of Redis hold.
func TestFinishedJobMemory(t *testing.T) {
	t.Parallel()
	n := 2000
	if os.Getenv("IKQ_LONG_TESTS") != "" {
		n = 20000
	}
	for _, migration := range []bool{true, false} {
		kind := "plain job (no run, idempotency key or callback)"
		if migration {
			kind = "migration job (a run, an idempotency key, a callback)"
		}
		f := measureFinished(t, n, migration)
		perJob := f.usedMemory / int64(n)
		perGB := (1 << 30) / perJob
		t.Logf("%s: %d bytes per finished job (used_memory; MEMORY USAGE of its keys: %d), %d finished jobs per GiB: "+
			"at the default retention of %v, %.2f jobs/s sustained per GiB",
			kind, perJob, f.usage/int64(n), perGB, DefaultRetention, float64(perGB)/DefaultRetention.Seconds())
		// A bound to catch a regression; the figure is about 1750 for a migration job.
		if perJob > 2500 {
			t.Errorf("%s: %d bytes per finished job, want at most 2500", kind, perJob)
		}
	}
}
