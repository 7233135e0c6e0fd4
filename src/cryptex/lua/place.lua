-- Place an order: lock its funds, record it, queue its command. All or nothing.
-- KEYS: balances, order record, open-order set, command stream[, client-order-id key]
-- ARGV: order id, available field, locked field, lock units, command bytes,
--       client-order-id ttl seconds, the record's field/value pairs as one msgpack array of
--       strings (one argument is far cheaper for the client to send than thirty)
-- Returns {1, order id, stream id} | {1, order id, ''} (this very order was placed already: a
--         retry after a lost reply) | {0, first order id} (client order id seen) |
--         {-1, available units} (insufficient funds)
if redis.call('EXISTS', KEYS[2]) == 1 then return {1, ARGV[1], ''} end
if KEYS[5] then
  local first = redis.call('GET', KEYS[5])
  if first then return {0, first} end
end
local need = tonumber(ARGV[4])
local available = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if available < need then return {-1, tostring(available)} end
redis.call('HINCRBY', KEYS[1], ARGV[2], -need)
redis.call('HINCRBY', KEYS[1], ARGV[3], need)
redis.call('HSET', KEYS[2], unpack(cmsgpack.unpack(ARGV[7])))
redis.call('SADD', KEYS[3], ARGV[1])
if KEYS[5] then redis.call('SET', KEYS[5], ARGV[1], 'EX', ARGV[6]) end
local stream_id = redis.call('XADD', KEYS[4], '*', 'c', ARGV[5])
return {1, ARGV[1], stream_id}
