-- Give up a lease held by `holder`, so that the next engine need not wait for it to lapse.
-- Returns 1 (released) | 0 (not held by `holder`: left alone)
local lease = unpack(KEYS, 1, 1)
local holder = unpack(ARGV, 1, 1)
if redis.call('GET', lease) ~= holder then return 0 end
redis.call('DEL', lease)
return 1
