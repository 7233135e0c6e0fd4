-- Settle one engine batch: every balance move, order record, event, market data message and
-- acknowledgement, or nothing at all. A script that fails halfway keeps what it wrote, so
-- everything is read and checked before the first write, and nothing after it can fail: a
-- committed settle is never reported as failed.
-- The batch's text is one msgpack array (one argument is far cheaper to send and read than tens
-- of thousands; amounts and ids in it are decimal text):
--   [acks: [stream id...],
--    moves: [[key index, field, asset, signed delta]...],
--    records: [[key index, [field, value, ...]]...],
--    open sets: [[open set key index, open counts key index, 1 to add | 0 to remove, order id]...]]
-- Binary messages follow the named arguments (Redis's cmsgpack reads no msgpack bin), each a
-- count and its items: publishes (channel, message), trades (pushed to the recent trades list).
-- Returns {SETTLED, next} | {SETTLED_ALREADY, next} (a retry after a lost reply) |
--         {STALE_FENCE, current} | {NEGATIVE_BALANCE, key, field, result} |
--         {APPLIED_MISMATCH, applied id} | {COMMAND_GAP, id} | {OVERFLOW, key, field}
-- where next is XREADGROUP's answer for the next commands (false when there are none, or when
-- the read failed: the engine then reads by itself).
local fence, applied_key, events, commands, depth, ticker, recent_trades, held, version =
  unpack(KEYS, 1, 9)
local token, last_command_id, group, events_bytes, depth_bytes, ticker_bytes,
      previous_command_id, batch_text, read_next, consumer, first_command_id, market,
      events_field, settled_command_field = unpack(ARGV, 1, 14)
local SETTLED, SETTLED_ALREADY, STALE_FENCE, NEGATIVE_BALANCE, APPLIED_MISMATCH, COMMAND_GAP,
      OVERFLOW = 1, 2, -1, -2, -3, -4, -5
local RECENT_TRADES = 1000
local ACK_CHUNK = 1000  -- unpack() of a longer list could overflow Lua's C stack

-- Taking the next batch here saves a busy engine a round trip (and, under appendfsync always,
-- an fsync) per batch; and a stale engine, refused below, never takes commands it cannot
-- settle. A failed read (the group was removed) must not turn a settled batch into an error.
local function next_batch()
  if read_next == '0' then return false end
  local reply = redis.pcall('XREADGROUP', 'GROUP', group, consumer, 'COUNT', read_next,
                            'STREAMS', commands, '>')
  if type(reply) == 'table' and reply.err then return false end
  return reply
end

local current = redis.call('GET', fence)
if current ~= token then return {STALE_FENCE, current or ''} end
local applied = redis.call('GET', applied_key) or ''
if applied == last_command_id then return {SETTLED_ALREADY, next_batch()} end
if applied ~= previous_command_id then return {APPLIED_MISMATCH, applied} end
-- A command between the last applied one and this batch was delivered to another reader (the
-- last read of an engine that had lost the market): settling past it would leave it unapplied.
local skipped = redis.call('XRANGE', commands, applied == '' and '-' or '(' .. applied,
                           '(' .. first_command_id, 'COUNT', 1)
if #skipped > 0 then return {COMMAND_GAP, skipped[1][1]} end

local batch = cmsgpack.unpack(batch_text)
local acks, moves, records, open_sets = batch[1], batch[2], batch[3], batch[4]
local at = 15
local function take()
  at = at + 1
  return ARGV[at - 1]
end
local publishes = {}
for i = 1, tonumber(take()) do publishes[i] = {take(), take()} end
local trades = {}
for i = 1, tonumber(take()) do trades[i] = take() end

-- What every asset's total held changes by: nothing, unless a batch creates or destroys money,
-- which the audit then sees (held against deposits minus withdrawals).
local net = {}
for _, move in ipairs(moves) do
  local key, field, asset, delta = KEYS[move[1]], move[2], move[3], move[4]
  local high, low = int64_add(redis.call('HGET', key, field) or '0', delta)
  if int64_negative(high) then return {NEGATIVE_BALANCE, key, field, int64_text(high, low)} end
  if not int64_fits(high, low) then return {OVERFLOW, key, field} end
  local sum = net[asset] or {0, 0}
  sum[1], sum[2] = int64_plus(sum[1], sum[2], delta)
  net[asset] = sum
end
local held_changes = {}
for asset, sum in pairs(net) do
  if sum[1] ~= 0 or sum[2] ~= 0 then
    local change = int64_text(sum[1], sum[2])
    local high, low = int64_add(redis.call('HGET', held, asset) or '0', change)
    if int64_negative(high) or not int64_fits(high, low) then return {OVERFLOW, held, asset} end
    held_changes[#held_changes + 1] = {asset, change}
  end
end

for _, move in ipairs(moves) do redis.call('HINCRBY', KEYS[move[1]], move[2], move[4]) end
if #moves > 0 then redis.call('INCR', version) end
for _, change in ipairs(held_changes) do redis.call('HINCRBY', held, change[1], change[2]) end
for _, record in ipairs(records) do redis.call('HSET', KEYS[record[1]], unpack(record[2])) end
for _, change in ipairs(open_sets) do
  local open_set, counts, opens, order_id = KEYS[change[1]], KEYS[change[2]], change[3], change[4]
  if opens == 1 then
    if redis.call('SADD', open_set, order_id) == 1 then
      redis.call('HINCRBY', counts, market, 1)
    end
  elseif redis.call('SREM', open_set, order_id) == 1 then
    redis.call('HINCRBY', counts, market, -1)
  end
end

if events_bytes ~= '' then
  redis.call('XADD', events, '*', events_field, events_bytes,
             settled_command_field, last_command_id)
end
if depth_bytes ~= '' then redis.call('SET', depth, depth_bytes) end
if ticker_bytes ~= '' then redis.call('SET', ticker, ticker_bytes) end
for _, message in ipairs(publishes) do redis.call('PUBLISH', message[1], message[2]) end
for _, trade in ipairs(trades) do redis.call('LPUSH', recent_trades, trade) end
if #trades > 0 then redis.call('LTRIM', recent_trades, 0, RECENT_TRADES - 1) end

redis.call('SET', applied_key, last_command_id)
for first = 1, #acks, ACK_CHUNK do
  redis.call('XACK', commands, group, unpack(acks, first, math.min(first + ACK_CHUNK - 1, #acks)))
end
return {SETTLED, next_batch()}
