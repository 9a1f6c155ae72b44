package jobstore

import (
	"bytes"
	"maps"
	mrand "math/rand/v2"
	"slices"
	"strconv"
)

// A Store remembers the jobs it wrote last, with the version its write gave them, so
// that its next write of the same job (a worker's outcome after its "active") skips
// the read: the write's compare-and-set still checks the version, and a job that
// moved meanwhile (a webhook, a cancel) costs the read it would have cost anyway.
//
// Versions grow by one plus a random multiple of 2^20, not by one: a write lost in a
// failover and another writer's write from the same version then give different
// versions, so a remembered job is not taken for a different one of the same version.
// The low 20 bits still count the writes (versionWrites).

// maxHeld bounds the jobs remembered; past it, one is forgotten at random.
const maxHeld = 1024

// versionCountBits are the low bits of a version that count its writes; the random
// part of a step is below 2^16, so a version overflows after 2^26 writes.
const versionCountBits = 20

// held is a job as this Store wrote it (a copy of its own) and the version it got.
type held struct {
	v   string
	job *Job
}

// takeHeld returns the job as this Store last wrote it, and forgets it: of two
// writes racing in this process, one uses it and the other reads.
func (s *Store) takeHeld(id string) (*Job, string, bool) {
	s.heldMu.Lock()
	h, ok := s.held[id]
	delete(s.held, id)
	s.heldMu.Unlock()
	if !ok {
		return nil, "", false
	}
	return h.job, h.v, true
}

// keepHeld remembers a copy of j, written at version v.
func (s *Store) keepHeld(id, v string, j *Job) {
	c := cloneJob(j)
	s.heldMu.Lock()
	defer s.heldMu.Unlock()
	if _, ok := s.held[id]; !ok && len(s.held) >= maxHeld {
		for k := range s.held { // map order: an arbitrary one
			delete(s.held, k)
			break
		}
	}
	s.held[id] = held{v: v, job: c}
}

// forgetHeld drops what this Store remembers of id.
func (s *Store) forgetHeld(id string) {
	s.heldMu.Lock()
	delete(s.held, id)
	s.heldMu.Unlock()
}

// nextVersion is the version the write of a job at version v gives it: "" when v is
// not a number (the write adds one, and nothing is remembered).
func nextVersion(v string) string {
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 || n > 1<<62 {
		return ""
	}
	step := 1 + mrand.Int64N(1<<16)<<versionCountBits //nolint:gosec // G404: telling writes apart needs no secrecy
	return strconv.FormatInt(n+step, 10)
}

// versionWrites is the number of writes of a job at version v (Create's included),
// modulo 2^20.
func versionWrites(v string) int64 {
	n, _ := strconv.ParseInt(v, 10, 64)
	return n & (1<<versionCountBits - 1)
}

// cloneJob is a deep copy of j: cheaper than the JSON round trip it stands for.
// TestCloneJob fails when Job gets a field this does not know.
func cloneJob(j *Job) *Job {
	c := *j
	if j.NextAttemptAt != nil {
		t := *j.NextAttemptAt
		c.NextAttemptAt = &t
	}
	c.Request = bytes.Clone(j.Request)
	c.Result = bytes.Clone(j.Result)
	c.Extensions = maps.Clone(j.Extensions)
	if j.Error != nil {
		e := *j.Error
		c.Error = &e
	}
	if j.Callback != nil {
		cb := *j.Callback
		if cb.DeliveredAt != nil {
			t := *cb.DeliveredAt
			cb.DeliveredAt = &t
		}
		c.Callback = &cb
	}
	c.Events = slices.Clone(j.Events)
	return &c
}
