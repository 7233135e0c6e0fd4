-- Take or renew a lease held by ARGV[1] for ARGV[2] milliseconds.
-- KEYS: lease   Returns 1 (held) | 0 (someone else holds it)
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
