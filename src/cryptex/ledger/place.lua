-- Place an order: lock its funds, record it, count it open, queue its command. All or nothing.
-- Returns {PLACED, order id, stream id} | {PLACED, order id, ''} (this very order was placed
--         already: a retry after a lost reply) | {DUPLICATE, first order id} (the client order
--         id was used for these same terms) | {CLIENT_ORDER_ID_REUSED, first order id} (for
--         other terms) | {INSUFFICIENT_FUNDS, available} | {TOO_MANY_OPEN_ORDERS, open here} |
--         {BALANCE_OVERFLOW, locked} (the lock would pass 2^63 - 1)
local balances, order_record, open_orders, open_counts, commands, version, client_order =
  unpack(KEYS, 1, 7)
local order_id, market, asset, locked_field, lock_units, command, command_field,
      client_order_ttl_s, terms, max_open_orders, record = unpack(ARGV, 1, 11)
local PLACED, DUPLICATE, INSUFFICIENT_FUNDS, TOO_MANY_OPEN_ORDERS, CLIENT_ORDER_ID_REUSED,
      BALANCE_OVERFLOW = 1, 0, -1, -2, -3, -4

if redis.call('EXISTS', order_record) == 1 then return {PLACED, order_id, ''} end
if client_order then
  local first = redis.call('HMGET', client_order, 'order_id', 'terms')
  if first[1] then
    if first[2] == terms then return {DUPLICATE, first[1]} end
    return {CLIENT_ORDER_ID_REUSED, first[1]}
  end
end
-- A count, not an amount: a small integer, exact as a Lua number.
local open_here = tonumber(redis.call('HGET', open_counts, market) or '0')
if open_here >= tonumber(max_open_orders) then return {TOO_MANY_OPEN_ORDERS, open_here} end
local available = redis.call('HGET', balances, asset) or '0'
if int64_negative(int64_add(available, '-' .. lock_units)) then
  return {INSUFFICIENT_FUNDS, available}
end
local locked = redis.call('HGET', balances, locked_field) or '0'
if not int64_fits(int64_add(locked, lock_units)) then return {BALANCE_OVERFLOW, locked} end

redis.call('HINCRBY', balances, asset, '-' .. lock_units)
redis.call('HINCRBY', balances, locked_field, lock_units)
redis.call('HSET', order_record, unpack(cmsgpack.unpack(record)))
redis.call('SADD', open_orders, order_id)
redis.call('HINCRBY', open_counts, market, 1)
redis.call('INCR', version)
if client_order then
  redis.call('HSET', client_order, 'order_id', order_id, 'terms', terms)
  redis.call('EXPIRE', client_order, client_order_ttl_s)
end
return {PLACED, order_id, redis.call('XADD', commands, '*', command_field, command)}
