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
// JSON or deflated, and checks Get returns an error or a consistent job, never panics.
func FuzzJobJSON(f *testing.F) {
	s, rdb := newStore(f, Options{})
	valid, _ := json.Marshal(Job{ID: "ID", Status: StatusQueued, Events: []Event{{State: StatusQueued}}})
	// A finished record as stored: deflated against the dictionary.
	deflated, err := encodeDoc(&Job{ID: "ID", Status: StatusCompleted, Events: []Event{{State: StatusCompleted}}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(deflated, "completed")
	f.Add(append([]byte{docDeflated}, "not deflate"...), "completed")
	f.Add(deflated[:len(deflated)/2], "completed")
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

// FuzzExpandDoc: any stored bytes expand to JSON or fail; a record deflated by
// encodeDoc expands to its JSON.
func FuzzExpandDoc(f *testing.F) {
	for _, st := range []Status{StatusQueued, StatusCompleted} {
		j := &Job{ID: "01KQHPJ59XQZQ5AAMKCMB719MZ", Status: st, Request: json.RawMessage(`{"file":"https://example.com/a.jpg"}`)}
		doc, err := encodeDoc(j)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(doc)
	}
	f.Add([]byte{docDeflated})
	f.Add([]byte{docDeflated, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, doc []byte) {
		out, err := expandDoc(doc)
		if err != nil {
			return
		}
		if len(out) > maxDocSize {
			t.Fatalf("expanded to %d bytes, past the bound", len(out))
		}
		if len(doc) > 0 && doc[0] != docDeflated && !bytes.Equal(out, doc) {
			t.Fatal("a JSON doc was changed")
		}
		// What expands and parses as a job encodes and expands back to the same job.
		var j Job
		if json.Unmarshal(out, &j) != nil || !j.Status.Valid() {
			return
		}
		again, err := encodeDoc(&j)
		if err != nil {
			t.Fatal(err)
		}
		back, err := expandDoc(again)
		if err != nil {
			t.Fatalf("a doc encodeDoc made does not expand: %v", err)
		}
		var k Job
		if err := json.Unmarshal(back, &k); err != nil || k.ID != j.ID || k.Status != j.Status {
			t.Fatalf("round trip: %+v, %v", k, err)
		}
	})
}
