package jobstore

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
)

// listAll pages through List and returns the ids in order.
func listAll(t *testing.T, s *Store, o ListOptions) (ids []string, pages int) {
	t.Helper()
	for {
		jobs, next, err := s.List(context.Background(), o)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, j := range jobs {
			ids = append(ids, j.ID)
		}
		if next == "" {
			return ids, pages
		}
		if len(jobs) == 0 {
			t.Fatalf("page %d is empty but has a next cursor", pages)
		}
		if pages > 100 {
			t.Fatal("cursor does not advance")
		}
		o.Cursor = next
	}
}

func TestListPages(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	var created []string
	for range 7 {
		created = append(created, mustCreate(t, s, nil).ID)
	}
	newestFirst := make([]string, len(created))
	for i, id := range created {
		newestFirst[len(created)-1-i] = id
	}

	ids, pages := listAll(t, s, ListOptions{Limit: 2})
	if !reflect.DeepEqual(ids, newestFirst) || pages != 4 {
		t.Errorf("listed %v in %d pages\nwant %v in 4", ids, pages, newestFirst)
	}
	for _, limit := range []int{0, 1, 3, 7, 8, 5000} {
		if ids, _ := listAll(t, s, ListOptions{Limit: limit}); !reflect.DeepEqual(ids, newestFirst) {
			t.Errorf("limit %d: %v", limit, ids)
		}
	}
	// The last full page says there is no next one when nothing follows.
	jobs, next, err := s.List(t.Context(), ListOptions{Limit: 7})
	if err != nil || len(jobs) != 7 || next != "" {
		t.Errorf("List(limit 7) = %d jobs, next %q, %v", len(jobs), next, err)
	}
}

func TestListByStatus(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	var ids []string
	for range 7 {
		ids = append(ids, mustCreate(t, s, nil).ID)
	}
	mustTransition(t, s, ids[1], StatusActive)
	mustTransition(t, s, ids[3], StatusActive)
	mustTransition(t, s, ids[5], StatusFailed)

	check := func(st Status, want ...string) {
		t.Helper()
		got, _ := listAll(t, s, ListOptions{Status: st, Limit: 2})
		if !reflect.DeepEqual(got, want) {
			t.Errorf("status %q: %v, want %v", st, got, want)
		}
	}
	check(StatusQueued, ids[6], ids[4], ids[2], ids[0])
	check(StatusActive, ids[3], ids[1])
	check(StatusFailed, ids[5])
	check(StatusCompleted)
	check("", ids[6], ids[5], ids[4], ids[3], ids[2], ids[1], ids[0])

	// Moving a job moves it between lists.
	mustTransition(t, s, ids[3], StatusCompleted)
	mustTransition(t, s, ids[5], StatusQueued)
	check(StatusActive, ids[1])
	check(StatusCompleted, ids[3])
	check(StatusFailed)
	check(StatusQueued, ids[6], ids[5], ids[4], ids[2], ids[0])

	if _, _, err := s.List(t.Context(), ListOptions{Status: "lost"}); err == nil {
		t.Error("List with an unknown status: no error")
	}
}

func TestListSkipsAndPrunesExpired(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	var ids []string
	for range 5 {
		ids = append(ids, mustCreate(t, s, nil).ID)
	}
	setupDone := setupIn(t, s, StatusCompleted)
	ids = append(ids, setupDone.ID)
	// Simulate expiry: Redis drops the job keys, the index entries stay.
	for _, id := range []string{ids[1], ids[2], ids[5]} {
		rdb.Del(ctx, jobKey(id))
	}

	got, _ := listAll(t, s, ListOptions{Limit: 2})
	if want := []string{ids[4], ids[3], ids[0]}; !reflect.DeepEqual(got, want) {
		t.Errorf("listed %v, want %v", got, want)
	}
	for _, id := range []string{ids[1], ids[2], ids[5]} {
		if st := readStored(t, rdb, id); len(st.indexes) != 0 {
			t.Errorf("expired job %s still in %v", id, st.indexes)
		}
	}
	if n := indexed(t, rdb, StatusQueued); n != 3 {
		t.Errorf("queued index holds %d, want 3", n)
	}
	if jobs, next, err := s.List(ctx, ListOptions{Status: StatusCompleted}); err != nil || len(jobs) != 0 || next != "" {
		t.Errorf("completed: %d jobs, next %q, %v", len(jobs), next, err)
	}
}

func TestListFillsPagesPastExpiredEntries(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	var ids []string
	for range 6 {
		ids = append(ids, mustCreate(t, s, nil).ID)
	}
	for _, id := range ids[2:5] { // the middle of the newest-first order
		rdb.Del(ctx, jobKey(id))
	}
	jobs, next, err := s.List(ctx, ListOptions{Limit: 2})
	if err != nil {
		t.Fatal(err)
	}
	if len(jobs) != 2 || jobs[0].ID != ids[5] || jobs[1].ID != ids[1] {
		t.Errorf("first page %v", jobs)
	}
	if next == "" {
		t.Fatal("no next cursor with one job left")
	}
	jobs, next, err = s.List(ctx, ListOptions{Limit: 2, Cursor: next})
	if err != nil || len(jobs) != 1 || jobs[0].ID != ids[0] || next != "" {
		t.Errorf("second page %v, next %q, %v", jobs, next, err)
	}
}

func TestPrune(t *testing.T) {
	t.Parallel()
	s, rdb := newStore(t, Options{})
	ctx := t.Context()
	var ids []string
	for range 4 {
		ids = append(ids, mustCreate(t, s, nil).ID)
	}
	failed := setupIn(t, s, StatusFailed)
	rdb.Del(ctx, jobKey(ids[0]), jobKey(failed.ID))
	n, err := s.Prune(ctx)
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want 2", n, err)
	}
	if n, _ := s.Prune(ctx); n != 0 {
		t.Errorf("second Prune removed %d", n)
	}
	if c := indexed(t, rdb, ""); c != 3 {
		t.Errorf("indexes hold %d, want 3", c)
	}
	if c := indexed(t, rdb, StatusFailed); c != 0 {
		t.Errorf("failed index holds %d, want 0", c)
	}
}

func TestCounts(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	ctx := context.Background()
	var ids []string
	for range 4 {
		j, _, err := s.Create(ctx, &Job{Queue: "default", Request: json.RawMessage(`{}`)}, nil)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, j.ID)
	}
	if _, err := s.Transition(ctx, ids[0], StatusCanceled, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Transition(ctx, ids[1], StatusActive, "", nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Counts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[Status]int64{StatusQueued: 2, StatusActive: 1, StatusCanceled: 1, StatusRetrying: 0,
		StatusUploaded: 0, StatusCompleted: 0, StatusFailed: 0}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Counts = %v, want %v", got, want)
	}
}
