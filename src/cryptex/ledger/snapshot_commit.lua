-- Make a fully staged engine snapshot the stored one, with the id of the last command it
-- reflects, while the caller's fencing token is current.
-- Returns 1 | 0 (stale token) | -1 (the staging list does not hold exactly `parts` parts: a
-- part was lost or sent twice; nothing changed, the snapshot must be written again)
local fence, staging, snapshot, snapshot_command = unpack(KEYS, 1, 4)
local token, parts, command_id = unpack(ARGV, 1, 3)
if redis.call('GET', fence) ~= token then return 0 end
if redis.call('LLEN', staging) ~= tonumber(parts) then return -1 end
redis.call('RENAME', staging, snapshot)
redis.call('SET', snapshot_command, command_id)
return 1
