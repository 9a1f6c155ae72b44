package jobstore

import (
	"encoding/json"
	"fmt"
	"testing"
)

func completedItems(run string, n int, key func(int) string) []Completed {
	items := make([]Completed, n)
	for i := range items {
		items[i] = Completed{
			Job: &Job{Queue: "default", MaxAttempts: 3, Run: run, IdempotencyKey: key(i),
				Request: json.RawMessage(fmt.Sprintf(`{"file":"file:///src/%d.png","fileName":"%d.png"}`, i, i))},
			Spec:    json.RawMessage(fmt.Sprintf(`{"file":"file:///src/%d.png","webhookUrl":"https://app.example/wh/%d"}`, i, i)),
			Result:  json.RawMessage(fmt.Sprintf(`{"fileId":"f%d","filePath":"/mig/%d.png"}`, i, i)),
			FileID:  fmt.Sprintf("f%d", i),
			Message: fmt.Sprintf("skipped: /mig/%d.png already exists with the same size", i),
		}
	}
	return items
}

// TestCreateCompletedRecordsFinishedJobs: jobs created completed are read back,
// indexed, counted in their run next to jobs of the usual path, mapped from their
// file, and their idempotency keys return them on a second call.
func TestCreateCompletedRecordsFinishedJobs(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	queued := runJob(t, s, "mig", "file:///src/other.png")
	items := completedItems("mig", 3, func(i int) string { return fmt.Sprintf("mig:%d", i) })
	jobs, existed, err := s.CreateCompleted(ctx, items)
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 3 || len(existed) != 3 {
		t.Fatalf("got %d jobs, %d existed flags; want 3", len(jobs), len(existed))
	}
	for i, j := range jobs {
		if existed[i] {
			t.Errorf("job %d: existed on its first call", i)
		}
		got, err := s.Get(ctx, j.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != StatusCompleted || got.FileID != items[i].FileID || string(got.Result) != string(items[i].Result) {
			t.Errorf("job %d: status %s fileId %q result %s", i, got.Status, got.FileID, got.Result)
		}
		last := got.Events[len(got.Events)-1]
		if last.State != StatusCompleted || last.Message != items[i].Message || got.Events[0].State != StatusQueued {
			t.Errorf("job %d: events %+v", i, got.Events)
		}
		// A completed job keeps of its spec what is read after completion.
		spec, err := s.Spec(ctx, j.ID)
		var kept map[string]string
		if err == nil {
			err = json.Unmarshal(spec, &kept)
		}
		if want := fmt.Sprintf("https://app.example/wh/%d", i); err != nil || len(kept) != 1 || kept["webhookUrl"] != want {
			t.Errorf("job %d: spec %s, %v; want only its webhookUrl", i, spec, err)
		}
		if id, err := s.JobForFile(ctx, items[i].FileID); err != nil || id != j.ID {
			t.Errorf("job %d: JobForFile = %q, %v", i, id, err)
		}
		st := readStored(t, rdb, j.ID)
		if st.status != "completed" || st.v != "1" {
			t.Errorf("job %d: stored status %q v %q", i, st.status, st.v)
		}
		if ttl := rdb.PTTL(ctx, jobKey(j.ID)).Val(); ttl <= 0 {
			t.Errorf("job %d: a finished job has no expiry (%v)", i, ttl)
		}
	}
	run, err := s.GetRun(ctx, "mig", false)
	if err != nil {
		t.Fatal(err)
	}
	if run.Total != 4 || run.Counts.Completed != 3 || run.Counts.Queued != 1 || run.Done {
		t.Errorf("run: total %d counts %+v done %v; want 4, 3 completed and 1 queued, not done", run.Total, run.Counts, run.Done)
	}
	completed, _, err := s.List(ctx, ListOptions{Status: StatusCompleted})
	if err != nil || len(completed) != 3 {
		t.Errorf("List completed: %d jobs, %v", len(completed), err)
	}

	// The same keys again, with a new one: the old jobs come back, only the new is made.
	again := completedItems("mig", 4, func(i int) string { return fmt.Sprintf("mig:%d", i) })
	jobs2, existed2, err := s.CreateCompleted(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if !existed2[i] || jobs2[i].ID != jobs[i].ID {
			t.Errorf("job %d again: id %s existed %v; want %s, true", i, jobs2[i].ID, existed2[i], jobs[i].ID)
		}
	}
	if existed2[3] {
		t.Error("a new key counted as existing")
	}
	run, err = s.GetRun(ctx, "mig", false)
	if err != nil {
		t.Fatal(err)
	}
	if run.Total != 5 || run.Counts.Completed != 4 {
		t.Errorf("run after the second call: total %d counts %+v; want 5, 4 completed", run.Total, run.Counts)
	}

	// Once the queued job completes too, the run is done and expires as a whole.
	mustTransition(t, s, queued.ID, StatusActive)
	mustTransition(t, s, queued.ID, StatusCompleted)
	if run, err = s.GetRun(ctx, "mig", false); err != nil || !run.Done || run.Counts.Completed != 5 {
		t.Errorf("run at the end: %+v, %v", run, err)
	}
}

// TestCreateCompletedIsAtomic: a call with a job that cannot be created writes none
// of its jobs.
func TestCreateCompletedIsAtomic(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	taken := runJob(t, s, "mig", "file:///src/x.png")
	items := completedItems("mig", 3, func(i int) string { return fmt.Sprintf("k%d", i) })
	items[2].Job.ID = taken.ID
	if _, _, err := s.CreateCompleted(ctx, items); err == nil {
		t.Fatal("a batch with a taken id was created")
	}
	if n := indexed(t, rdb, StatusCompleted); n != 0 {
		t.Errorf("%d completed jobs indexed after a refused batch", n)
	}
	for i := range 2 {
		if n := rdb.Exists(ctx, idemKey(fmt.Sprintf("k%d", i))).Val(); n != 0 {
			t.Errorf("idempotency key k%d written by a refused batch", i)
		}
	}
	run, err := s.GetRun(ctx, "mig", false)
	if err != nil || run.Total != 1 {
		t.Errorf("run after a refused batch: %+v, %v; want 1 job", run, err)
	}
	dup := completedItems("mig", 2, func(int) string { return "same" })
	if _, _, err := s.CreateCompleted(ctx, dup); err == nil {
		t.Error("two jobs of one idempotency key in one call were accepted")
	}
	mixed := completedItems("mig", 2, func(i int) string { return fmt.Sprintf("m%d", i) })
	mixed[1].Job.Run = "other"
	if _, _, err := s.CreateCompleted(ctx, mixed); err == nil {
		t.Error("jobs of two runs in one call were accepted")
	}
}
