-- Write a key only while the caller's fencing token is current (engine snapshots).
-- KEYS: fence, key   ARGV: token, value
-- Returns 1 | 0 (stale token: nothing written)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[2], ARGV[2])
return 1
