/**
 * Lua scripts run by the Redis adapters. Kept as string constants (not .lua files) so the compiled service needs no
 * asset copying; each starts with its KEYS / ARGV / returns header.
 */

export const APPEND_WINDOW_LUA = `
-- Appends frames to an entity's window atomically, guarded by the covered offset the caller last saw.
-- KEYS[1] rows list   KEYS[2] meta hash   KEYS[3] pending-events list
-- ARGV[1] capacity (rows kept)     ARGV[2] expected coveredOffset ("-1" for none)
-- ARGV[3] new coveredOffset        ARGV[4] modelKey     ARGV[5] "1" = replace existing rows
-- ARGV[6] idle TTL in seconds (0 = none)   ARGV[7] n = number of rows   ARGV[8 .. 7+n] rows   ARGV[8+n ..] events
-- Returns {1} on success, {0, currentCoveredOffset} when the expected offset does not match (another writer won).
local current = redis.call('HGET', KEYS[2], 'coveredOffset')
if current == false then current = '-1' end
if current ~= ARGV[2] then return {0, current} end
if ARGV[5] == '1' then redis.call('DEL', KEYS[1]) end
local n = tonumber(ARGV[7])
for i = 1, n, 1000 do
  redis.call('RPUSH', KEYS[1], unpack(ARGV, 7 + i, 7 + math.min(i + 999, n)))
end
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[1]), -1)
redis.call('HSET', KEYS[2], 'coveredOffset', ARGV[3], 'modelKey', ARGV[4])
redis.call('DEL', KEYS[3])
-- Events in chunks too: unpack of more than ~8,000 values fails ("too many results to unpack").
for i = 8 + n, #ARGV, 1000 do
  redis.call('RPUSH', KEYS[3], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
local ttl = tonumber(ARGV[6])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
  redis.call('EXPIRE', KEYS[3], ttl)
end
return {1}
`

export const CLEAR_PENDING_EVENTS_LUA = `
-- Deletes an entity's pending events once the sink acknowledged them, unless another writer appended since.
-- KEYS[1] meta hash   KEYS[2] pending-events list
-- ARGV[1] the coveredOffset written together with the acknowledged events
-- Returns 1 when deleted, 0 when the window moved on (its pending events belong to the newer writer).
if redis.call('HGET', KEYS[1], 'coveredOffset') == ARGV[1] then
  redis.call('DEL', KEYS[2])
  return 1
end
return 0
`

export const REGISTER_MODEL_VERSION_LUA = `
-- Registers a model version: takes the next version number and stores its info and state together.
-- KEYS[1] version counter   KEYS[2] versions hash (version -> info JSON)
-- ARGV[1] state key prefix (state key = prefix .. version; same hash tag, so the same cluster slot)
-- ARGV[2] info JSON starting with {"version":0 (the placeholder is replaced; no cjson round trip, which would turn
--         empty arrays into objects)   ARGV[3] state JSON ("" for a CREATED version that has no state yet)
-- Returns the new version number.
local version = redis.call('INCR', KEYS[1])
local info = string.gsub(ARGV[2], '^{"version":0', '{"version":' .. version, 1)
redis.call('HSET', KEYS[2], tostring(version), info)
if ARGV[3] ~= '' then redis.call('SET', ARGV[1] .. version, ARGV[3]) end
return version
`

export const UPDATE_MODEL_VERSION_LUA = `
-- Replaces a version's info (and stores its state) only if the info is still what the caller read, so a version
-- deleted or finished meanwhile is not brought back.
-- KEYS[1] versions hash   KEYS[2] state key
-- ARGV[1] version   ARGV[2] expected info JSON   ARGV[3] new info JSON   ARGV[4] state JSON ("" = none)
-- Returns 1 when updated, 0 otherwise.
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
if ARGV[4] ~= '' then redis.call('SET', KEYS[2], ARGV[4]) end
return 1
`

export const COMPARE_AND_SET_LUA = `
-- Replaces a string value only if it still equals what the caller read (optimistic concurrency for job records).
-- KEYS[1] key   ARGV[1] expected current value   ARGV[2] new value
-- ARGV[3] seconds the new value lives (0 = no expiry: a finished job is kept for the retention, an open one for ever;
--         -1 = as long as the old value would have: a finished job's delivery marks do not extend its retention)
-- Returns 1 when replaced, 0 when the value changed meanwhile.
if redis.call('GET', KEYS[1]) == ARGV[1] then
  local ttl = tonumber(ARGV[3])
  if ttl > 0 then
    redis.call('SET', KEYS[1], ARGV[2], 'EX', ttl)
  elseif ttl < 0 then
    redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  else
    redis.call('SET', KEYS[1], ARGV[2])
  end
  return 1
end
return 0
`

export const DELETE_MODEL_LUA = `
-- Deletes a model's versions hash and every version's state in one step, so a version registered while a delete
-- runs cannot leave a state key behind (a list-then-delete did: an orphan that never expires). The version counter
-- stays (a few bytes): a model made again under the id goes on from it, so a training of the deleted model still
-- running cannot write its version N into the new model's version N. Deletes only while the delete's claim holds
-- its token: once the claim ended, a bind may have bound the model unseen (state/model-deletion.ts).
-- KEYS[1] version counter   KEYS[2] versions hash   KEYS[3] delete claim
-- ARGV[1] state key prefix (state key = prefix .. version; same hash tag, so the same cluster slot)
-- ARGV[2] the delete's token
-- Returns the number of versions the hash held, or -1 (nothing deleted) when the claim does not hold the token.
if redis.call('GET', KEYS[3]) ~= ARGV[2] then return -1 end
local held = redis.call('HLEN', KEYS[2])
local seq = tonumber(redis.call('GET', KEYS[1]) or '0')
for v = 1, seq do redis.call('DEL', ARGV[1] .. v) end
redis.call('DEL', KEYS[2])
return held
`

export const RELEASE_CLAIM_LUA = `
-- Deletes a delete claim only while it holds the caller's token, so a delete whose claim expired cannot release the
-- claim another delete has taken since.
-- KEYS[1] claim   ARGV[1] token
-- Returns 1 when released, 0 otherwise.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`

export const RENEW_CLAIM_LUA = `
-- Holds a delete claim ARGV[2] ms longer from now, only while it holds the caller's token.
-- KEYS[1] claim   ARGV[1] token   ARGV[2] hold (ms)
-- Returns 1 when renewed, 0 when the claim is gone or another's.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
`

// Bind claims: a sorted set of tokens scored by when each claim ends, in the Redis server's time (one clock for every
// instance; effects replication, the default since Redis 5, lets a script write after TIME).
const REDIS_NOW_MS = `
redis.replicate_commands()
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
`

export const CLAIM_BIND_LUA = `
-- Adds a bind claim ending ARGV[2] ms from now; ended claims (of binds that died) go first, and the set expires
-- when no claim is renewed for twice the hold.
-- KEYS[1] bind claims   ARGV[1] token   ARGV[2] hold (ms)
-- Returns 1.
${REDIS_NOW_MS}
local hold = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
if redis.call('PTTL', KEYS[1]) < 2 * hold then redis.call('PEXPIRE', KEYS[1], 2 * hold) end
return 1
`

export const RENEW_BIND_CLAIM_LUA = `
-- Holds a bind claim ARGV[2] ms from now while it is still live: an ended claim is not brought back.
-- KEYS[1] bind claims   ARGV[1] token   ARGV[2] hold (ms)
-- Returns 1 when renewed, 0 when the claim is gone or over.
${REDIS_NOW_MS}
local hold = tonumber(ARGV[2])
local ends = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not ends or tonumber(ends) <= now then return 0 end
redis.call('ZADD', KEYS[1], now + hold, ARGV[1])
if redis.call('PTTL', KEYS[1]) < 2 * hold then redis.call('PEXPIRE', KEYS[1], 2 * hold) end
return 1
`

export const COUNT_BIND_CLAIMS_LUA = `
-- The number of live bind claims.
-- KEYS[1] bind claims
${REDIS_NOW_MS}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`

export const SET_FENCED_BINDING_LUA = `
-- Writes an entity's binding and its index entry only while every bind claim named still holds (a bind whose claims
-- lapsed must not write: a delete may have found no claim and no binding, and gone ahead).
-- KEYS[1] binding   KEYS[2] bindings index   KEYS[3..n] bind claim sets
-- ARGV[1] binding JSON   ARGV[2] entity   ARGV[3..n] the claim's token in the set KEYS[i]
-- Returns 1 when written, 0 when a claim no longer holds (nothing written).
${REDIS_NOW_MS}
for i = 3, #KEYS do
  local ends = redis.call('ZSCORE', KEYS[i], ARGV[i])
  if not ends or tonumber(ends) <= now then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('SADD', KEYS[2], ARGV[2])
return 1
`
