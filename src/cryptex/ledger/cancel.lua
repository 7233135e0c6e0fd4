-- Ask the engine to cancel (or amend) an open order of the caller's.
-- Returns {QUEUED, stream id} | {REFUSED, reason}
local order_record, commands = unpack(KEYS, 1, 2)
local account, command, command_field = unpack(ARGV, 1, 3)
local QUEUED, REFUSED = 1, -1

local record = redis.call('HMGET', order_record, 'account', 'status')
if not record[1] then return {REFUSED, 'UNKNOWN_ORDER'} end
if record[1] ~= account then return {REFUSED, 'NOT_ORDER_OWNER'} end
-- Open: waiting or resting (a stop stays NEW while it waits, then is TRIGGERED).
local status = record[2]
if status ~= 'NEW' and status ~= 'TRIGGERED' and status ~= 'PARTIALLY_FILLED' then
  return {REFUSED, 'ORDER_NOT_OPEN'}
end
return {QUEUED, redis.call('XADD', commands, '*', command_field, command)}
