-- Deposit (positive units) or withdraw (negative units, from available only), journalled, once
-- per reference: the same reference again changes nothing.
-- KEYS: balances, totals, accounts set, journal stream, reference key
-- ARGV: account, asset, signed units, reference, ts
-- Returns {1, available after} | {2, available} (reference seen: done already) |
--         {-1, available} (insufficient funds for a withdrawal)
local available = tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0')
if redis.call('EXISTS', KEYS[5]) == 1 then return {2, tostring(available)} end
local units = tonumber(ARGV[3])
if available + units < 0 then return {-1, tostring(available)} end
redis.call('SET', KEYS[5], ARGV[3])
local after = redis.call('HINCRBY', KEYS[1], ARGV[2], ARGV[3])
redis.call('HINCRBY', KEYS[2], ARGV[2], ARGV[3])
redis.call('SADD', KEYS[3], ARGV[1])
redis.call('XADD', KEYS[4], '*', 'account', ARGV[1], 'asset', ARGV[2], 'units', ARGV[3],
           'reference', ARGV[4], 'ts', ARGV[5])
return {1, tostring(after)}
