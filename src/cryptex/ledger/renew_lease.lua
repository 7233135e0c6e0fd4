-- Take or renew a lease for `holder`, for `ttl_ms` milliseconds.
-- Returns 1 (held) | 0 (someone else holds it)
local lease = unpack(KEYS, 1, 1)
local holder, ttl_ms = unpack(ARGV, 1, 2)
local current = redis.call('GET', lease)
if current and current ~= holder then return 0 end
redis.call('SET', lease, holder, 'PX', ttl_ms)
return 1
