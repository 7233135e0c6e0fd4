-- Append one part of an engine snapshot being written, while the caller's fencing token is
-- current; the first part starts the staging list afresh (dropping what a stopped writer left).
-- KEYS: fence, staging   ARGV: token, first (1 | 0), part
-- Returns the number of parts staged | 0 (stale token: nothing written)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if ARGV[2] == '1' then redis.call('DEL', KEYS[2]) end
return redis.call('RPUSH', KEYS[2], ARGV[3])
