-- Settle one engine batch: every balance move, order record, event, market data message and
-- acknowledgement, or nothing at all. Everything is checked before the first write, because a
-- script that fails halfway keeps what it wrote.
-- KEYS: fence, applied, event stream, command stream, depth, ticker, recent trades,
--       then the keys that the sections below name by index
-- ARGV: token, last command id, group, events bytes ('' for none), depth bytes ('' unchanged),
--       ticker bytes ('' unchanged), the applied id this batch follows ('' for none),
--       the batch's text as one msgpack array (one argument is far cheaper to send and read
--       than tens of thousands; amounts and ids in it are decimal text):
--         [acks: [stream id...],
--          moves: [[key index, field, signed delta]...],
--          records: [[key index, [field, value, ...]]...],
--          open sets: [[key index, 1 to add | 0 to remove, order id]...]],
--       how many new commands to deliver next ('0' for none), the consumer to deliver them to,
--       the id of the batch's first command not settled before,
--       then the binary messages (Redis's cmsgpack reads no msgpack bin), each a count and
--       its items: publishes (channel, message), trades (pushed to the recent trades list)
-- Returns {1, next} | {2, next} (this batch was settled already: a retry after a lost reply) | {-1, 'STALE_FENCE', current} | {-2, 'NEGATIVE_BALANCE', key,
--         field, result} | {-3, 'APPLIED_MISMATCH', applied id} | {-4, 'COMMAND_GAP', id}
--         where next is XREADGROUP's answer for the next commands (false when there are none).
-- Taking the next batch here saves a busy engine a round trip (and, under appendfsync always,
-- an fsync) per batch; and a stale engine, refused above, never takes commands it cannot settle.
local function next_batch()
  if ARGV[9] == '0' then return false end
  return redis.call('XREADGROUP', 'GROUP', ARGV[3], ARGV[10], 'COUNT', ARGV[9],
                    'STREAMS', KEYS[4], '>')
end

local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return {-1, 'STALE_FENCE', current or ''} end
local applied = redis.call('GET', KEYS[2]) or ''
if applied == ARGV[2] then return {2, next_batch()} end
if applied ~= ARGV[7] then return {-3, 'APPLIED_MISMATCH', applied} end
-- A command between the last applied one and this batch was delivered to another reader (the
-- last read of an engine that had lost the market): settling past it would leave it unapplied.
local skipped = redis.call('XRANGE', KEYS[4], applied == '' and '-' or '(' .. applied,
                           '(' .. ARGV[11], 'COUNT', 1)
if #skipped > 0 then return {-4, 'COMMAND_GAP', skipped[1][1]} end

local RECENT_TRADES = 1000
local ACK_CHUNK = 1000  -- unpack() of a longer list could overflow Lua's C stack
local batch = cmsgpack.unpack(ARGV[8])
local acks, moves, records, open_sets = batch[1], batch[2], batch[3], batch[4]
local at = 12
local function take()
  at = at + 1
  return ARGV[at - 1]
end

for _, move in ipairs(moves) do
  local delta = tonumber(move[3])
  if delta < 0 then
    local key = KEYS[move[1]]
    local now = tonumber(redis.call('HGET', key, move[2]) or '0')
    if now + delta < 0 then
      return {-2, 'NEGATIVE_BALANCE', key, move[2], tostring(now + delta)}
    end
  end
end

for _, move in ipairs(moves) do redis.call('HINCRBY', KEYS[move[1]], move[2], move[3]) end
for _, record in ipairs(records) do redis.call('HSET', KEYS[record[1]], unpack(record[2])) end
for _, change in ipairs(open_sets) do
  if change[2] == 1 then
    redis.call('SADD', KEYS[change[1]], change[3])
  else
    redis.call('SREM', KEYS[change[1]], change[3])
  end
end

if ARGV[4] ~= '' then redis.call('XADD', KEYS[3], '*', 'e', ARGV[4], 'c', ARGV[2]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[5], ARGV[5]) end
if ARGV[6] ~= '' then redis.call('SET', KEYS[6], ARGV[6]) end

for _ = 1, tonumber(take()) do redis.call('PUBLISH', take(), take()) end
local trades = tonumber(take())
for _ = 1, trades do redis.call('LPUSH', KEYS[7], take()) end
if trades > 0 then redis.call('LTRIM', KEYS[7], 0, RECENT_TRADES - 1) end

redis.call('SET', KEYS[2], ARGV[2])
for first = 1, #acks, ACK_CHUNK do
  redis.call('XACK', KEYS[4], ARGV[3], unpack(acks, first, math.min(first + ACK_CHUNK - 1, #acks)))
end
return {1, next_batch()}
