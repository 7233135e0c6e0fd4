-- Ask the engine to cancel an order of the caller's.
-- KEYS: order record, command stream
-- ARGV: account, command bytes
-- Returns {1, stream id} | {-1, reason}
local record = redis.call('HMGET', KEYS[1], 'account', 'status')
if not record[1] then return {-1, 'UNKNOWN_ORDER'} end
if record[1] ~= ARGV[1] then return {-1, 'NOT_ORDER_OWNER'} end
if record[2] ~= 'NEW' and record[2] ~= 'PARTIALLY_FILLED' then return {-1, 'ORDER_NOT_OPEN'} end
return {1, redis.call('XADD', KEYS[2], '*', 'c', ARGV[2])}
