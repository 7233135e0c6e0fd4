-- Append one part of an engine snapshot being written, while the caller's fencing token is
-- current; the first part starts the staging list afresh (dropping what a stopped writer left).
-- Returns the number of parts staged | 0 (stale token: nothing written)
local fence, staging = unpack(KEYS, 1, 2)
local token, first, part = unpack(ARGV, 1, 3)
if redis.call('GET', fence) ~= token then return 0 end
if first == '1' then redis.call('DEL', staging) end
return redis.call('RPUSH', staging, part)
