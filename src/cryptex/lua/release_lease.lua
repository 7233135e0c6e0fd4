-- Give up a lease held by ARGV[1], so that the next engine need not wait for it to lapse.
-- KEYS: lease   Returns 1 (released) | 0 (not held by ARGV[1]: left alone)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
