package jobstore

import "github.com/redis/go-redis/v9"

// Every script names all the keys it touches in KEYS (they share the {jobs} hash tag,
// so they live in one cluster slot). A script that needs an optional key gets the
// job's own key in its place and skips it when KEYS[i] == KEYS[1]. A job's version v
// starts at 1 and grows by one with every write: a writer sends the v it read, and a
// script that finds another v changes nothing and answers "stale", so the writer reads
// again and re-applies its change (optimistic compare-and-set).

// createScript creates a job, or finds the job its idempotency key already names.
//
//	KEYS[1] job hash of the new job
//	KEYS[2] index of all jobs
//	KEYS[3] status index of the new job
//	KEYS[4] idempotency key, or KEYS[1] when the job has none
//	KEYS[5] job hash of the job KEYS[4] named when the caller read it, or KEYS[1]
//	ARGV[1] id, ARGV[2] doc, ARGV[3] status
//	ARGV[4] the id the caller read from KEYS[4], "" if the key was absent
//	ARGV[5] the job spec, stored in the hash field spec ("" for none)
//	KEYS[6..15], only for a job of a run: the list of runs, then the run's keys
//	(runKeys: its hash, its jobs, its status sets in the order of Statuses)
//	ARGV[6] the run id, ARGV[7] now in ms, ARGV[8] the run's member of the list of
//	runs should the run be new
//
// Returns {"created"}; {"existed", doc, status} when the key names a job that still
// exists; {"stale"} when the key changed since the caller read it (read it again);
// {"taken"} when a job with this id exists. The idempotency key gets no expiry here:
// a queued job does not expire, and the key follows its job (see writeScript).
const createLua = `
if KEYS[4] ~= KEYS[1] then
  local cur = redis.call('GET', KEYS[4]) or ''
  if cur ~= ARGV[4] then return {'stale'} end
  if cur ~= '' then
    local found = redis.call('HMGET', KEYS[5], 'doc', 'status')
    if found[1] then return {'existed', found[1], found[2] or ''} end
    -- the job it named expired or was deleted: the key is free for this one
  end
end
if redis.call('EXISTS', KEYS[1]) == 1 then return {'taken'} end
redis.call('HSET', KEYS[1], 'doc', ARGV[2], 'status', ARGV[3], 'v', 1)
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'spec', ARGV[5]) end
redis.call('ZADD', KEYS[2], 0, ARGV[1])
redis.call('ZADD', KEYS[3], 0, ARGV[1])
if KEYS[4] ~= KEYS[1] then redis.call('SET', KEYS[4], ARGV[1]) end
if #KEYS >= 15 then
  if redis.call('HSETNX', KEYS[7], 'created', ARGV[7]) == 1 then
    redis.call('HSET', KEYS[7], 'id', ARGV[6])
    redis.call('ZADD', KEYS[6], 0, ARGV[8])
  end
  redis.call('ZADD', KEYS[8], 0, ARGV[1])
  redis.call('ZADD', KEYS[9], 0, ARGV[1])
  -- an unfinished job keeps its run
  for i = 7, 15 do redis.call('PERSIST', KEYS[i]) end
end
return {'created'}
`

// writeScript replaces a job's record if its version is still the one read, and keeps
// the indexes and the lifetimes of the keys that follow the job in step.
//
//	KEYS[1] job hash
//	KEYS[2] index of all jobs
//	KEYS[3] status index the job was in when read
//	KEYS[4] status index of the new status (== KEYS[3] when it is unchanged)
//	KEYS[5] idempotency key, or KEYS[1] when the job has none
//	KEYS[6] byfile key of the job's fileId, or KEYS[1] when it has none
//	KEYS[7] byfile key of the fileId it had before, or KEYS[1] when unchanged or none
//	ARGV[1] id, ARGV[2] version read, ARGV[3] doc, ARGV[4] status
//	ARGV[5] expiry in ms for a finished job, "0" for no expiry
//	ARGV[6] "1" to point KEYS[6] at this job (its fileId was just set), else "0"
//	KEYS[8..16], only for a job of a run: the run's keys (runKeys)
//	ARGV[7], ARGV[8] the positions in Statuses (from 1) of the old and new status
//	ARGV[9] the run's expiry in ms once none of its jobs is unfinished, "0" for none
//
// Returns 1 written, 0 stale (the version moved on: read again), -1 no such job.
// The idempotency and byfile keys expire with the job, or are made persistent with it,
// only while they name this job: another job may have taken them over.
const writeLua = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return -1 end
if v ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'doc', ARGV[3], 'status', ARGV[4])
redis.call('HINCRBY', KEYS[1], 'v', 1)
if KEYS[3] ~= KEYS[4] then redis.call('ZREM', KEYS[3], ARGV[1]) end
redis.call('ZADD', KEYS[4], 0, ARGV[1])
redis.call('ZADD', KEYS[2], 0, ARGV[1])
if KEYS[7] ~= KEYS[1] and redis.call('GET', KEYS[7]) == ARGV[1] then
  redis.call('DEL', KEYS[7])
end
if KEYS[6] ~= KEYS[1] and ARGV[6] == '1' then redis.call('SET', KEYS[6], ARGV[1]) end
local ttl = tonumber(ARGV[5])
local function follow(key)
  if ttl > 0 then redis.call('PEXPIRE', key, ttl) else redis.call('PERSIST', key) end
end
follow(KEYS[1])
if KEYS[5] ~= KEYS[1] and redis.call('GET', KEYS[5]) == ARGV[1] then follow(KEYS[5]) end
if KEYS[6] ~= KEYS[1] and redis.call('GET', KEYS[6]) == ARGV[1] then follow(KEYS[6]) end
if #KEYS >= 16 then
  local from, to = 9 + tonumber(ARGV[7]), 9 + tonumber(ARGV[8])
  if from ~= to then redis.call('ZREM', KEYS[from], ARGV[1]) end
  redis.call('ZADD', KEYS[to], 0, ARGV[1])
  redis.call('ZADD', KEYS[9], 0, ARGV[1])
  -- The run lives while any job of it is unfinished (queued, active, retrying,
  -- uploaded), and expires with its last job after that.
  local open = 0
  for i = 10, 13 do open = open + redis.call('ZCARD', KEYS[i]) end
  local runTTL = tonumber(ARGV[9])
  for i = 8, 16 do
    if open == 0 and runTTL > 0 then redis.call('PEXPIRE', KEYS[i], runTTL) else redis.call('PERSIST', KEYS[i]) end
  end
end
return 1
`

// deleteScript removes a job, its index entries, and its idempotency and byfile keys
// when they still name it.
//
//	KEYS[1] job hash
//	KEYS[2] idempotency key, or KEYS[1]
//	KEYS[3] byfile key, or KEYS[1]
//	KEYS[4..] the index of all jobs and every status index
//	ARGV[1] id, ARGV[2] version read ("" to delete whatever version is stored)
//
// Returns 1 deleted, 0 stale, -1 no such job.
const deleteLua = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v and redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if ARGV[2] ~= '' and v ~= ARGV[2] then return 0 end
redis.call('DEL', KEYS[1])
for i = 2, 3 do
  if KEYS[i] ~= KEYS[1] and redis.call('GET', KEYS[i]) == ARGV[1] then redis.call('DEL', KEYS[i]) end
end
for i = 4, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`

// pruneScript removes the index entries of a job that no longer exists (it expired).
// Checking existence inside the script keeps a job created meanwhile with the same id
// in its indexes.
//
//	KEYS[1] job hash
//	KEYS[2..] the index of all jobs and every status index
//	ARGV[1] id
//
// Returns 1 pruned, 0 the job exists.
const pruneLua = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
for i = 2, #KEYS do redis.call('ZREM', KEYS[i], ARGV[1]) end
return 1
`

// recordRunScript records what ikq bulk says of a run, creating the run when new.
//
//	KEYS[1] the list of runs, KEYS[2..10] the run's keys (runKeys)
//	ARGV[1] the run id, ARGV[2] now in ms, ARGV[3] the run's member of the list
//	should it be new, ARGV[4] the expiry in ms of a run with no unfinished job ("0":
//	none), ARGV[5..] field, value pairs
//
// Returns the run's creation time in ms.
const recordRunLua = `
if redis.call('HSETNX', KEYS[2], 'created', ARGV[2]) == 1 then
  redis.call('HSET', KEYS[2], 'id', ARGV[1])
  redis.call('ZADD', KEYS[1], 0, ARGV[3])
end
for i = 5, #ARGV, 2 do redis.call('HSET', KEYS[2], ARGV[i], ARGV[i+1]) end
local open = 0
for i = 4, 7 do open = open + redis.call('ZCARD', KEYS[i]) end
local ttl = tonumber(ARGV[4])
if open == 0 and ttl > 0 then
  for i = 2, 10 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
return redis.call('HGET', KEYS[2], 'created')
`

// dropRunScript removes a run's entry from the list of runs once the run is gone
// (expired), or when the entry belongs to an earlier run of the same id.
//
//	KEYS[1] the list of runs, KEYS[2] the run's hash
//	ARGV[1] the entry, ARGV[2] the creation time in ms it names
//
// Returns 1 removed, 0 the entry is the run's.
const dropRunLua = `
if redis.call('HGET', KEYS[2], 'created') == ARGV[2] then return 0 end
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`

// createCompletedScript creates jobs completed from the start (see CreateCompleted),
// all of them or none: every check runs before the first write.
//
//	KEYS[1] index of all jobs, KEYS[2] status index of completed
//	KEYS[3..12], for jobs of a run: the list of runs, then the run's keys (runKeys)
//	then four keys a job: its hash; its idempotency key, or its hash; the hash of the
//	job that key named when read, or its hash; its byfile key, or its hash
//	ARGV[1] the number of keys before the jobs' (2, or 12 with a run), ARGV[2] the
//	expiry in ms of a finished job ("0": none), ARGV[3] the run id, ARGV[4] now in ms,
//	ARGV[5] the run's member of the list of runs should it be new, ARGV[6] the run's
//	expiry in ms once none of its jobs is unfinished, ARGV[7] the position in Statuses
//	(from 1) of completed; then four values a job: id, doc, the id its idempotency key
//	named when read ("" if absent), spec ("" for none)
//
// Returns {"done", then kind, doc, status a job}: kind "created" (doc and status
// empty) or "existed" (the doc and status of the job its key names); {"stale"} when
// a key changed since it was read; {"taken", id} when a job of that id exists.
const createCompletedLua = `
local base = tonumber(ARGV[1])
local n = (#KEYS - base) / 4
for i = 0, n - 1 do
  local k, a = base + 4 * i, 8 + 4 * i
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
local out = {'done'}
local created = 0
for i = 0, n - 1 do
  local k, a = base + 4 * i, 8 + 4 * i
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
    if ARGV[a + 3] ~= '' then redis.call('HSET', KEYS[k + 1], 'spec', ARGV[a + 3]) end
    redis.call('ZADD', KEYS[1], 0, ARGV[a])
    redis.call('ZADD', KEYS[2], 0, ARGV[a])
    follow(KEYS[k + 1])
    if KEYS[k + 2] ~= KEYS[k + 1] then redis.call('SET', KEYS[k + 2], ARGV[a]); follow(KEYS[k + 2]) end
    if KEYS[k + 4] ~= KEYS[k + 1] then redis.call('SET', KEYS[k + 4], ARGV[a]); follow(KEYS[k + 4]) end
    if base >= 12 then
      redis.call('ZADD', KEYS[5], 0, ARGV[a])
      redis.call('ZADD', KEYS[5 + tonumber(ARGV[7])], 0, ARGV[a])
    end
    table.insert(out, 'created'); table.insert(out, ''); table.insert(out, '')
  end
end
if base >= 12 and created > 0 then
  if redis.call('HSETNX', KEYS[4], 'created', ARGV[4]) == 1 then
    redis.call('HSET', KEYS[4], 'id', ARGV[3])
    redis.call('ZADD', KEYS[3], 0, ARGV[5])
  end
  -- As in writeScript: the run lives while any job of it is unfinished.
  local open = 0
  for i = 6, 9 do open = open + redis.call('ZCARD', KEYS[i]) end
  local runTTL = tonumber(ARGV[6])
  for i = 4, 12 do
    if open == 0 and runTTL > 0 then redis.call('PEXPIRE', KEYS[i], runTTL) else redis.call('PERSIST', KEYS[i]) end
  end
end
return out
`

var (
	createCompletedScript = redis.NewScript(createCompletedLua)
	recordRunScript       = redis.NewScript(recordRunLua)
	dropRunScript         = redis.NewScript(dropRunLua)
	createScript          = redis.NewScript(createLua)
	writeScript           = redis.NewScript(writeLua)
	deleteScript          = redis.NewScript(deleteLua)
	pruneScript           = redis.NewScript(pruneLua)
)
