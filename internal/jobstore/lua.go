package jobstore

import (
	"strings"

	"github.com/redis/go-redis/v9"
)

// Every script names all the keys it touches in KEYS, and they are keys of one
// shard, so of one cluster slot. A script that needs an optional key gets the job's
// own key in its place and skips it when KEYS[i] == KEYS[1]. A job's version v
// starts at 1 and grows with every write (by a random step: see held.go): a writer sends the v it read, and a
// script that finds another v changes nothing and answers "stale", so the writer reads
// again and re-applies its change (optimistic compare-and-set).
//
// Keys of other shards (the byfile key of the job's file, the list of runs) are
// written by their own commands, around the script; see Store.write and Create.

// createScript creates a job, or finds the job its idempotency key already names.
//
//	KEYS[1] job hash of the new job
//	KEYS[2] the shard's status index of queued
//	KEYS[3] idempotency key, or KEYS[1] when the job has none
//	KEYS[4] job hash of the job KEYS[3] named when the caller read it, or KEYS[1]
//	KEYS[5..12], only for a job of a run: the run's keys in the shard (runKeys)
//	ARGV[1] id, ARGV[2] doc, ARGV[3] status
//	ARGV[4] the id the caller read from KEYS[3], "" if the key was absent
//	ARGV[5] the job spec, stored in the hash field spec ("" for none)
//	ARGV[6] the run id, ARGV[7] now in ms
//
// Returns {"created", "1" when the run is new in this shard else "0"}; {"existed",
// doc, status} when the key names a job that still exists; {"stale"} when the key
// changed since the caller read it (read it again); {"taken"} when a job with this id
// exists. The idempotency key gets no expiry here: a queued job does not expire, and
// the key follows its job (see writeScript).
const createLua = `
if KEYS[3] ~= KEYS[1] then
  local cur = redis.call('GET', KEYS[3]) or ''
  if cur ~= ARGV[4] then return {'stale'} end
  if cur ~= '' then
    local found = redis.call('HMGET', KEYS[4], 'doc', 'status')
    if found[1] then return {'existed', found[1], found[2] or ''} end
    -- the job it named expired or was deleted: the key is free for this one
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'taken'} end
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'status', ARGV[3], 'v', 1, 'spec', ARGV[5])
else
  redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'status', ARGV[3], 'v', 1)
end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if KEYS[3] ~= KEYS[1] then redis.call('SET', KEYS[3], ARGV[1]) end
local new = '0'
if #KEYS >= 12 then
  if redis.call('HSETNX', KEYS[5], 'created', ARGV[7]) == 1 then
    redis.call('HSET', KEYS[5], 'id', ARGV[6])
    new = '1'
  end
  redis.call('ZADD', KEYS[6], 0, ARGV[1])
  -- an unfinished job keeps its run (keys of a shard expire together)
  if redis.call('PTTL', KEYS[5]) >= 0 then
    for i = 5, 12 do redis.call('PERSIST', KEYS[i]) end
  end
end
return {'created', new}
`

// specAfterCompletion are the fields of a job spec read after the job completed: the
// callback's URL (package callback) and the app's webhookUrl (relayed webhooks). A
// completed job keeps only these; a failed or canceled one keeps its whole spec, which
// a retry needs.
var specAfterCompletion = []string{"callbackUrl", "webhookUrl"}

// compactSpecLua replaces the spec of the job hash key, whose value is spec (false
// for none), by the fields of specAfterCompletion, and deletes it when it has none of
// them. A spec that is not a JSON object is left as it is.
var compactSpecLua = `
local function compactSpec(key, spec)
  if not spec then return end
  local ok, t = pcall(cjson.decode, spec)
  if not ok or type(t) ~= 'table' then return end
  local keep, any = {}, false
  for _, f in ipairs({'` + strings.Join(specAfterCompletion, "', '") + `'}) do
    if type(t[f]) == 'string' and t[f] ~= '' then keep[f] = t[f]; any = true end
  end
  if any then redis.call('HSET', key, 'spec', cjson.encode(keep)) else redis.call('HDEL', key, 'spec') end
end
`

// writeScript replaces a job's record if its version is still the one read, and keeps
// the indexes and the lifetimes of the keys that follow the job in step.
//
//	KEYS[1] job hash
//	KEYS[2] the shard's status index the job was in when read
//	KEYS[3] the shard's status index of the new status (== KEYS[2] when unchanged)
//	KEYS[4] idempotency key, or KEYS[1] when the job has none
//	KEYS[5..12], only for a job of a run: the run's keys in the shard (runKeys)
//	ARGV[1] id, ARGV[2] version read, ARGV[3] doc, ARGV[4] status
//	ARGV[5] expiry in ms for a finished job, "0" for no expiry
//	ARGV[6] "1" when the job completes: its spec is compacted (compactSpecLua)
//	ARGV[7], ARGV[8] the positions in Statuses (from 1) of the old and new status
//	ARGV[9] the run's expiry in ms once none of its jobs in the shard is unfinished,
//	"0" for none
//	ARGV[10] "1" when the job's lifetime changes or runs (it is or was finished): the
//	job and its idempotency key get ARGV[5]; else they keep theirs (none)
//	ARGV[11] the version the write gives the job (see held.go); "" to add one
//
// Returns 1 written, 0 stale (the version moved on: read again), -1 no such job.
// The idempotency key expires with the job, or is made persistent with it, only while
// it names this job: another job may have taken it over.
var writeLua = compactSpecLua + `
local cur = redis.call('HMGET', KEYS[1], 'v', 'spec')
if not cur[1] then return -1 end
if cur[1] ~= ARGV[2] then return 0 end
if ARGV[11] ~= '' then
  redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'status', ARGV[4], 'v', ARGV[11])
else
  redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'status', ARGV[4])
  redis.call('HINCRBY', KEYS[1], 'v', 1)
end
if ARGV[6] == '1' then compactSpec(KEYS[1], cur[2]) end
if KEYS[2] ~= KEYS[3] then redis.call('ZREM', KEYS[2], ARGV[1]) end
redis.call('ZADD', KEYS[3], 0, ARGV[1])
local ttl = tonumber(ARGV[5])
if ARGV[10] == '1' then
  local function follow(key)
    if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
  end
  follow(KEYS[1])
  if KEYS[4] ~= KEYS[1] and redis.call('GET', KEYS[4]) == ARGV[1] then follow(KEYS[4]) end
end
if #KEYS >= 12 then
  local from, to = 5 + tonumber(ARGV[7]), 5 + tonumber(ARGV[8])
  if from ~= to then redis.call('ZREM', KEYS[from], ARGV[1]) end
  redis.call('ZADD', KEYS[to], 0, ARGV[1])
  -- The run's keys in this shard live while any of its jobs here is unfinished
  -- (queued, active, retrying, uploaded: KEYS[6..9]), and expire with the last one
  -- after that. They always expire together, so the hash's TTL is theirs.
  local open = to <= 9
  for i = 6, 9 do
    if open then break end
    open = redis.call('EXISTS', KEYS[i]) == 1
  end
  local runTTL = tonumber(ARGV[9])
  if open or runTTL <= 0 then
    if redis.call('PTTL', KEYS[5]) >= 0 then
      for i = 5, 12 do redis.call('PERSIST', KEYS[i]) end
    end
  else
    for i = 5, 12 do redis.call('PEXPIRE', KEYS[i], runTTL) end
  end
end
return 1
`

// deleteScript removes a job, its index entries, and its idempotency key when it
// still names it.
//
//	KEYS[1] job hash
//	KEYS[2] idempotency key, or KEYS[1]
//	KEYS[3..9] the shard's status indexes
//	KEYS[10..17], only for a job of a run: the run's keys in the shard (runKeys)
//	ARGV[1] id, ARGV[2] version read ("" to delete whatever version is stored)
//	ARGV[3] the run's expiry in ms once none of its jobs in the shard is unfinished
//
// Returns 1 deleted, 0 stale, -1 no such job.
const deleteLua = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v and redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[2] ~= '' and v ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
if KEYS[2] ~= KEYS[1] and redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
for i = 3, #KEYS do
  if i ~= 10 then redis.call('ZREM', KEYS[i], ARGV[1]) end -- KEYS[10] is the run's hash
end
if #KEYS >= 17 and tonumber(ARGV[3]) > 0 then
  -- as in writeScript: the run's keys of a shard with no unfinished job expire
  for i = 11, 14 do
    if redis.call('EXISTS', KEYS[i]) == 1 then return 1 end
  end
  for i = 10, 17 do redis.call('PEXPIRE', KEYS[i], ARGV[3]) end
end
return 1
`

// deleteIfScript deletes KEYS[1] if it holds ARGV[1]: a job's byfile key, which
// another job may have taken over. Returns 1 deleted, else 0.
const deleteIfLua = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

// claimScript points a file's lookup (byfile key) at a job, and reads a hash of the
// file's shard in the same step: the statuses parked for the file (package
// completion), so that every status reported for the file is either in the reply or
// comes after the claim, and finds the job.
//
//	KEYS[1] the file's byfile key
//	KEYS[2] the hash to read, or KEYS[1] for none
//	ARGV[1] the job id, ARGV[2] the key's expiry in ms ("0": none)
//	ARGV[3] "1": only if the key is absent
//
// Returns the hash as field, value, ….
const claimLua = `
if ARGV[3] ~= '1' or redis.call('EXISTS', KEYS[1]) == 0 then
  if tonumber(ARGV[2]) > 0 then
    redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  else
    redis.call('SET', KEYS[1], ARGV[1])
  end
end
if KEYS[2] == KEYS[1] then return {} end
return redis.call('HGETALL', KEYS[2])
`

// pruneScript removes the index entries of a job that no longer exists (it expired).
// Checking existence inside the script keeps a job created meanwhile with the same id
// in its indexes.
//
//	KEYS[1] job hash
//	KEYS[2..] indexes of the job's shard
//	ARGV[1] id
//
// Returns 1 pruned, 0 the job exists.
const pruneLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`

// rangeScript reads the union of sorted sets of one shard, at one instant, so that a
// job moving between them is seen once.
//
//	KEYS the sets (scores 0: lexicographic order)
//	ARGV[1] the bound the range starts beyond ("-", "+" or "(" id), ARGV[2] how many
//	of each set, ARGV[3] "1" ascending, else descending
//
// Returns one list of ids a set; the caller merges them (Lua compares strings by the
// server's locale, Go by bytes, as ZRANGEBYLEX does).
const rangeLua = `
local out = {}
for i = 1, #KEYS do
  if ARGV[3] == '1' then
    out[i] = redis.call('ZRANGEBYLEX', KEYS[i], ARGV[1], '+', 'LIMIT', 0, tonumber(ARGV[2]))
  else
    out[i] = redis.call('ZREVRANGEBYLEX', KEYS[i], ARGV[1], '-', 'LIMIT', 0, tonumber(ARGV[2]))
  end
end
return out
`

// countScript counts the members of sets of one shard: {ZCARD KEYS[i]...}.
const countLua = `
local out = {}
for i = 1, #KEYS do out[i] = redis.call('ZCARD', KEYS[i]) end
return out
`

// readRunScript reads a run's keys in one shard.
//
//	KEYS[1] the run's hash in the shard, KEYS[2..8] its status sets
//
// Returns {the hash as field, value, …, {the counts in the order of the sets}}.
const readRunLua = `
local counts = {}
for i = 2, #KEYS do counts[i - 1] = redis.call('ZCARD', KEYS[i]) end
return {redis.call('HGETALL', KEYS[1]), counts}
`

// recordRunScript records what ikq bulk says of a run in one shard, creating the
// run's hash there when new.
//
//	KEYS[1] the run's hash in the shard, KEYS[2..8] its status sets
//	ARGV[1] the run id, ARGV[2] now in ms, ARGV[3] the expiry in ms of the run's keys
//	in a shard with no unfinished job of it ("0": none), ARGV[4..] field, value pairs
//
// Returns 1 when the run is new in this shard, else 0.
const recordRunLua = `
local new = redis.call('HSETNX', KEYS[1], 'created', ARGV[2])
if new == 1 then redis.call('HSET', KEYS[1], 'id', ARGV[1]) end
for i = 4, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i+1]) end
local open = 0
for i = 2, 5 do open = open + redis.call('ZCARD', KEYS[i]) end
local ttl = tonumber(ARGV[3])
if open == 0 and ttl > 0 then
  for i = 1, 8 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return new
`

// listRunScript puts a run in the list of runs unless it is there.
//
//	KEYS[1] the list of runs, KEYS[2] its entries by run id
//	ARGV[1] the run id, ARGV[2] its entry should it be new
//
// Returns the run's entry.
const listRunLua = `
if redis.call('HSETNX', KEYS[2], ARGV[1], ARGV[2]) == 1 then
  redis.call('ZADD', KEYS[1], 0, ARGV[2])
end
return redis.call('HGET', KEYS[2], ARGV[1])
`

// dropRunScript removes an entry from the list of runs: the run is gone, or the entry
// is garbage or an earlier run's of the same id.
//
//	KEYS[1] the list of runs, KEYS[2] its entries by run id
//	ARGV[1] the entry, ARGV[2] the run id it names ("" for garbage)
const dropRunLua = `
redis.call('ZREM', KEYS[1], ARGV[1])
if ARGV[2] ~= '' and redis.call('HGET', KEYS[2], ARGV[2]) == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
`

// createCompletedScript creates jobs of one shard completed from the start (see
// CreateCompleted), all of them or none: every check runs before the first write.
//
//	KEYS[1] the shard's status index of completed
//	KEYS[2..9], for jobs of a run: the run's keys in the shard (runKeys)
//	then three keys a job: its hash; its idempotency key, or its hash; the hash of the
//	job that key named when read, or its hash
//	ARGV[1] the number of keys before the jobs' (1, or 9 with a run), ARGV[2] the
//	expiry in ms of a finished job ("0": none), ARGV[3] the run id, ARGV[4] now in ms,
//	ARGV[5] the expiry in ms of the run's keys once none of its jobs in the shard is
//	unfinished, ARGV[6] the position in Statuses (from 1) of completed; then four values
//	a job: id, doc, the id its idempotency key named when read ("" if absent), spec
//	("" for none)
//
// Returns {"done", "1" when the run is new in the shard else "0", then kind, doc,
// status a job}: kind "created" (doc and status empty) or "existed" (the doc and
// status of the job its key names); {"stale"} when a key changed since it was read;
// {"taken", id} when a job of that id exists.
var createCompletedLua = compactSpecLua + `
local base = tonumber(ARGV[1])
local n = (#KEYS - base) / 3
for i = 0, n - 1 do
  local k, a = base + 3 * i, 7 + 4 * i
  local fresh = true
  if KEYS[k + 2] ~= KEYS[k + 1] then
    local cur = redis.call('GET', KEYS[k + 2]) or ''
    if cur ~= ARGV[a + 2] then return {'stale'} end
    if cur ~= '' and redis.call('EXISTS', KEYS[k + 3]) == 1 then fresh = false end
  end
  if fresh and redis.call('EXISTS', KEYS[k + 1]) == 1 then return {'taken', ARGV[a]} end
end
local ttl = tonumber(ARGV[2])
local function follow(key)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
local out = {'done', '0'}
local created = 0
for i = 0, n - 1 do
  local k, a = base + 3 * i, 7 + 4 * i
  local found = nil
  if ARGV[a + 2] ~= '' then
    found = redis.call('HMGET', KEYS[k + 3], 'doc', 'status')
    if not found[1] then found = nil end
  end
  if found then
    table.insert(out, 'existed'); table.insert(out, found[1]); table.insert(out, found[2] or '')
  else
    created = created + 1
    redis.call('HSET', KEYS[k + 1], 'doc', ARGV[a + 1], 'status', 'completed', 'v', 1)
    if ARGV[a + 3] ~= '' then
      redis.call('HSET', KEYS[k + 1], 'spec', ARGV[a + 3])
      compactSpec(KEYS[k + 1], ARGV[a + 3])
    end
    redis.call('ZADD', KEYS[1], 0, ARGV[a])
    follow(KEYS[k + 1])
    if KEYS[k + 2] ~= KEYS[k + 1] then redis.call('SET', KEYS[k + 2], ARGV[a]); follow(KEYS[k + 2]) end
    if base >= 9 then redis.call('ZADD', KEYS[2 + tonumber(ARGV[6])], 0, ARGV[a]) end
    table.insert(out, 'created'); table.insert(out, ''); table.insert(out, '')
  end
end
if base >= 9 and created > 0 then
  if redis.call('HSETNX', KEYS[2], 'created', ARGV[4]) == 1 then
    redis.call('HSET', KEYS[2], 'id', ARGV[3])
    out[2] = '1'
  end
  -- As in writeScript: the run's keys in the shard live while a job of it there is
  -- unfinished.
  local open = 0
  for i = 3, 6 do open = open + redis.call('ZCARD', KEYS[i]) end
  local runTTL = tonumber(ARGV[5])
  for i = 2, 9 do
    if open == 0 and runTTL > 0 then redis.call('PEXPIRE', KEYS[i], runTTL) else redis.call('PERSIST', KEYS[i]) end
  end
end
return out
`

var (
	createCompletedScript = redis.NewScript(createCompletedLua)
	recordRunScript       = redis.NewScript(recordRunLua)
	listRunScript         = redis.NewScript(listRunLua)
	dropRunScript         = redis.NewScript(dropRunLua)
	readRunScript         = redis.NewScript(readRunLua)
	createScript          = redis.NewScript(createLua)
	writeScript           = redis.NewScript(writeLua)
	deleteScript          = redis.NewScript(deleteLua)
	deleteIfScript        = redis.NewScript(deleteIfLua)
	claimScript           = redis.NewScript(claimLua)
	pruneScript           = redis.NewScript(pruneLua)
	rangeScript           = redis.NewScript(rangeLua)
	countScript           = redis.NewScript(countLua)
)
