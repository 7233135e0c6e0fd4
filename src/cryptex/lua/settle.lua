-- Settle one engine batch: every balance move, order record, event, market data message and
-- acknowledgement, or nothing at all. Everything is checked before the first write, because a
-- script that fails halfway keeps what it wrote.
-- KEYS: fence, applied, event stream, command stream, depth, ticker, recent trades,
--       then the keys that the sections below name by index
-- ARGV: token, last command id, group, events bytes ('' for none), depth bytes ('' unchanged),
--       ticker bytes ('' unchanged), the applied id this batch follows ('' for none),
--       then sections, each a count followed by its items:
--         acks:        stream id
--         balances:    key index, field, signed delta
--         records:     key index, pair count, field/value pairs
--         open sets:   key index, 1 to add | 0 to remove, order id
--         publishes:   channel, message
--         trades:      message (pushed to the recent trades list)
-- Returns {1, events stream id or ''} | {2} (this batch was settled already: a retry after a
--         lost reply) | {-1, 'STALE_FENCE', current} | {-2, 'NEGATIVE_BALANCE', key, field,
--         result} | {-3, 'APPLIED_MISMATCH', applied id}
local current = redis.call('GET', KEYS[1])
if current ~= ARGV[1] then return {-1, 'STALE_FENCE', current or ''} end
local applied = redis.call('GET', KEYS[2]) or ''
if applied == ARGV[2] then return {2} end
if applied ~= ARGV[7] then return {-3, 'APPLIED_MISMATCH', applied} end

local RECENT_TRADES = 1000
local at = 7  -- take() moves first: the sections start at ARGV[8]
local function take()
  at = at + 1
  return ARGV[at]
end

local acks = {}
for i = 1, tonumber(take()) do acks[i] = take() end

local moves = {}
for i = 1, tonumber(take()) do
  local key, field, delta = KEYS[tonumber(take())], take(), take()
  moves[i] = {key, field, delta}
  local d = tonumber(delta)
  if d < 0 then
    local now = tonumber(redis.call('HGET', key, field) or '0')
    if now + d < 0 then return {-2, 'NEGATIVE_BALANCE', key, field, tostring(now + d)} end
  end
end

for _, move in ipairs(moves) do redis.call('HINCRBY', move[1], move[2], move[3]) end

for _ = 1, tonumber(take()) do
  local key, pairs_count = KEYS[tonumber(take())], tonumber(take())
  local fields = {}
  for j = 1, 2 * pairs_count do fields[j] = take() end
  redis.call('HSET', key, unpack(fields))
end

for _ = 1, tonumber(take()) do
  local key, add, order_id = KEYS[tonumber(take())], take(), take()
  if add == '1' then redis.call('SADD', key, order_id) else redis.call('SREM', key, order_id) end
end

local event_id = ''
if ARGV[4] ~= '' then event_id = redis.call('XADD', KEYS[3], '*', 'e', ARGV[4], 'c', ARGV[2]) end
if ARGV[5] ~= '' then redis.call('SET', KEYS[5], ARGV[5]) end
if ARGV[6] ~= '' then redis.call('SET', KEYS[6], ARGV[6]) end

for _ = 1, tonumber(take()) do redis.call('PUBLISH', take(), take()) end

local trades = tonumber(take())
for _ = 1, trades do redis.call('LPUSH', KEYS[7], take()) end
if trades > 0 then redis.call('LTRIM', KEYS[7], 0, RECENT_TRADES - 1) end

redis.call('SET', KEYS[2], ARGV[2])
if #acks > 0 then redis.call('XACK', KEYS[4], ARGV[3], unpack(acks)) end
return {1, event_id}
