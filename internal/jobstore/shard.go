package jobstore

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"hash/fnv"
	mrand "math/rand/v2"
	"sync"
	"time"

	"github.com/oklog/ulid/v2"
)

// Shards: job state is spread over Shards groups of keys, each under its own hash
// tag, so that on Redis Cluster the groups live in different slots and the scripts
// of one job still touch keys of one slot.
const Shards = 32

// shardTags are the hash tags of the shards: the shard's number and a suffix chosen
// so that the tag's cluster slot is 512·shard+256, the middle of the shard's 32nd of
// the 16384 slots. Any split of the slots into equal contiguous ranges, as
// `redis-cli --cluster create` makes, then gives each master its share of shards,
// give or take one. TestShardTagSlots checks the slots.
var shardTags = [Shards]string{
	"00gwu", "010lv", "021kl", "03f4g", "0421p", "058m3", "061c1", "0736j",
	"087y3", "09yi8", "101o4", "11ft7", "1261x", "13ans", "141gi", "15322",
	"164ni", "17c1b", "186id", "194x7", "207ie", "215x6", "22x7", "23j6",
	"24742", "255ai", "26e8", "2731", "282ms", "29810", "30ps4", "31kio",
}

// shardPrefix is the start of every key of shard s.
func shardPrefix(s int) string { return "ikq:{" + shardTags[s] + "}:" }

// shardOf is the shard of a job. An id made by NewID names it in its last character
// (the low five bits of the ULID); any other id, given by the caller, is hashed.
func shardOf(id string) int {
	if len(id) == ulid.EncodedSize {
		if u, err := ulid.ParseStrict(id); err == nil {
			return int(u[15] & (Shards - 1))
		}
	}
	return shardOfString(id)
}

// shardOfString spreads strings (idempotency keys, file ids) over the shards.
func shardOfString(s string) int {
	h := fnv.New32a()
	_, _ = h.Write([]byte(s))
	return int(h.Sum32() % Shards)
}

// NewID returns a ULID: 26 characters that sort, as strings, in order of time
// (milliseconds), and in order of creation within one process. Its last character
// names a shard, chosen at random.
func NewID(now time.Time) string { return newID(now, -1) }

// newID returns a ULID of the process's id source whose last character names shard
// s (random when s < 0).
func newID(now time.Time, s int) string { return processIDs.next(now, s) }

var processIDs = newIDSource()

// idSource makes ids in order. Its entropy is monotonic within one millisecond and
// starts afresh when the millisecond changes; two goroutines that read the clock
// a moment apart can ask for an earlier millisecond after a later one, and such an
// id is given the later millisecond (up to clampBack), so that it still sorts after
// the ids before it.
type idSource struct {
	mu      sync.Mutex
	last    uint64 // the millisecond of the last id
	entropy *ulid.MonotonicEntropy
}

// clampBack is how far back in time an id is moved forward to the last one's
// millisecond. Farther back is a caller's chosen time, kept as it is.
const clampBack = 1000

func newIDSource() *idSource {
	return &idSource{entropy: ulid.Monotonic(rand.Reader, 0)}
}

// next returns an id whose last character names shard s (random when s < 0). The 80
// random bits are shifted left by five to make room, so ids made within one
// millisecond keep the order of the monotonic entropy they come from.
func (g *idSource) next(now time.Time, s int) string {
	ms := ulid.Timestamp(now)
	g.mu.Lock()
	if ms < g.last && g.last-ms <= clampBack {
		ms = g.last
	}
	g.last = ms
	id, err := ulid.New(ms, g.entropy)
	g.mu.Unlock()
	if err != nil { // the monotonic counter overflowed within one millisecond
		id = ulid.MustNew(ms, rand.Reader)
	}
	var carry byte
	for i := 15; i >= 6; i-- {
		b := id[i]
		id[i] = b<<5 | carry
		carry = b >> 3
	}
	if s < 0 {
		// Not the entropy's bits: they change little within a millisecond.
		s = mrand.IntN(Shards) //nolint:gosec // G404: spreading jobs needs no secrecy
	}
	id[15] |= byte(s) //nolint:gosec // G115: 0 <= s < Shards = 32
	return id.String()
}

// Keys. A job's keys are in its shard; an idempotency key and a file's keys are in
// the shard of the string they are looked up by, and a job with an idempotency key
// is put in that key's shard.

func jobKey(id string) string { return shardPrefix(shardOf(id)) + "job:" + id }

func statusKey(shard int, st Status) string { return shardPrefix(shard) + "status:" + string(st) }

// statusKeys are shard's status indexes, in the order of statuses.
func statusKeys(shard int) []string {
	keys := make([]string, len(statuses))
	for i, st := range statuses {
		keys[i] = statusKey(shard, st)
	}
	return keys
}

// idemKey hashes the key: it is the caller's string, of any length and bytes.
// 128 bits of SHA-256 tell apart the keys one Redis holds.
func idemKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return shardPrefix(shardOfString(key)) + "idem:" + hex.EncodeToString(sum[:16])
}

func byFileKey(fileID string) string { return SpreadKey("byfile", fileID) }

// SpreadKey is the key "kind:id" in the shard of id, for state that other packages
// keep per ImageKit file or per event and look up by that id alone (the events
// parked for a file, the webhooks seen). byfile keys are built the same way, so a
// file's keys share a slot.
func SpreadKey(kind, id string) string {
	return shardPrefix(shardOfString(id)) + kind + ":" + id
}

// JobKey is the Redis key of a job's record, for tools and tests that look at or
// damage it directly.
func JobKey(id string) string { return jobKey(id) }
