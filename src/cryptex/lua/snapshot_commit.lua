-- Make a fully staged engine snapshot the stored one, with the id of the last command it
-- reflects, while the caller's fencing token is current.
-- KEYS: fence, staging, snapshot, snapshot_command   ARGV: token, parts, command_id
-- Returns 1 | 0 (stale token) | -1 (the staging list does not hold exactly `parts` parts: a
-- part was lost or sent twice; nothing changed, the snapshot must be written again)
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('LLEN', KEYS[2]) ~= tonumber(ARGV[2]) then return -1 end
redis.call('RENAME', KEYS[2], KEYS[3])
redis.call('SET', KEYS[4], ARGV[3])
return 1
