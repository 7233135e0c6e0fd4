-- One account's balances, open-order counts and open orders in one consistent view, if its
-- open set still holds exactly the orders listed (read just before, to be named as keys);
-- otherwise nothing, and the auditor reads again. Read-only, and one account at a time, so no
-- call holds Redis for long.
-- Returns {READ, balance pairs, count pairs, {{market, lock asset, locked, status}...}} |
--         {CHANGED}
local balances, open_orders, open_counts = unpack(KEYS, 1, 3)
local order_count = unpack(ARGV, 1, 1)
local READ, CHANGED = 1, 0

local listed = tonumber(order_count)
if redis.call('SCARD', open_orders) ~= listed then return {CHANGED} end
local orders = {}
for i = 1, listed do
  if redis.call('SISMEMBER', open_orders, ARGV[1 + i]) == 0 then return {CHANGED} end
  local record = redis.call('HMGET', KEYS[3 + i], 'market', 'lock_asset', 'locked', 'status')
  orders[i] = {record[1] or '', record[2] or '', record[3] or '0', record[4] or ''}
end
return {READ, redis.call('HGETALL', balances), redis.call('HGETALL', open_counts), orders}
