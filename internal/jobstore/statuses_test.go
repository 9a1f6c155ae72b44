package jobstore

import (
	"testing"
	"time"
)

func TestStatuses(t *testing.T) {
	t.Parallel()
	s, _ := newStore(t, Options{})
	a, b := mustCreate(t, s, nil), mustCreate(t, s, nil)
	mustTransition(t, s, b.ID, StatusCanceled)
	got, err := s.Statuses(t.Context(), []string{a.ID, b.ID, "01ARZ3NDEKTSV4RRFFQ69G5FAV"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[a.ID] != StatusQueued || got[b.ID] != StatusCanceled {
		t.Fatalf("Statuses = %v, want %s queued, %s canceled, and no unknown job", got, a.ID, b.ID)
	}
}

func TestEachOpen(t *testing.T) {
	t.Parallel()
	clock := newClock()
	s, _ := newStore(t, Options{Now: clock.Now})
	old := mustCreate(t, s, nil)
	active := mustCreate(t, s, nil)
	mustTransition(t, s, active.ID, StatusActive)
	done := mustCreate(t, s, nil)
	mustTransition(t, s, done.ID, StatusCanceled)
	clock.mu.Lock()
	clock.t = clock.t.Add(time.Hour)
	clock.mu.Unlock()
	recent := mustCreate(t, s, nil)

	var seen []string
	if err := s.EachOpen(t.Context(), time.Minute, func(j *Job) error { seen = append(seen, j.ID); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(seen) != 2 || seen[0] != old.ID || seen[1] != active.ID {
		t.Fatalf("EachOpen saw %v, want the old queued job %s then the old active one %s (not %s, finished, nor %s, recent)",
			seen, old.ID, active.ID, done.ID, recent.ID)
	}
}
