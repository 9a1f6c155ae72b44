package jobstore

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
)

// FuzzJobJSON stores arbitrary bytes as a job's doc, as a bug or a hand edit might,
// and checks Get returns an error or a consistent job, never panics.
func FuzzJobJSON(f *testing.F) {
	s, rdb := newStore(f, Options{})
	valid, _ := json.Marshal(Job{ID: "ID", Status: StatusQueued, Events: []Event{{State: StatusQueued}}})
	for _, seed := range []string{
		string(valid), "", "null", "{}", "[]", `{"id":"ID"}`, `{"id":"ID","status":"queued"}`,
		`{"id":"ID","status":"queued","events":null,"request":{"a":1},"extensions":{"x":"y"}}`,
		`{"id":"ID","status":"queued","createdAt":"not a time"}`,
		`{"id":"ID","status":"queued","nextAttemptAt":null,"error":{"httpStatus":"x"}}`,
		"\xff\xfe", `{"id":"ID","status":"queued","attempts":1e400}`,
	} {
		f.Add([]byte(seed), "queued")
	}
	var n atomic.Int64
	f.Fuzz(func(t *testing.T, doc []byte, status string) {
		ctx := context.Background()
		id := fmt.Sprintf("fuzz-%d", n.Add(1))
		// Let seeds name the job whose key they are stored under.
		doc = bytes.ReplaceAll(doc, []byte(`"ID"`), []byte(`"`+id+`"`))
		if err := rdb.HSet(ctx, jobKey(id), "doc", doc, "v", 1, "status", status).Err(); err != nil {
			t.Fatal(err)
		}
		defer rdb.Del(ctx, jobKey(id))
		j, err := s.Get(ctx, id)
		if err != nil {
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Get: %v, want ErrCorrupt or a job", err)
			}
			return
		}
		if j.ID != id || string(j.Status) != status || !j.Status.Valid() {
			t.Fatalf("Get returned id %q status %q for id %q status %q", j.ID, j.Status, id, status)
		}
		// A job Get accepts is one the store can write again.
		if _, err := s.Update(ctx, id, func(j *Job) error { j.Attempts++; return nil }); err != nil {
			t.Fatalf("Update of an accepted record: %v", err)
		}
	})
}
