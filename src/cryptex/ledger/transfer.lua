-- Deposit (positive units) or withdraw (negative units, from available only), journalled, once
-- per reference: the same reference for the same account, asset and signed units answers what
-- it did the first time; for anything else it is refused, and nothing changes.
-- Returns {DONE, available after} | {REPEATED, available after the first time} |
--         {INSUFFICIENT_FUNDS, available} | {REFERENCE_REUSED, account, asset, units} (of the
--         first transfer) | {OVERFLOW, available} (a balance or total would pass 2^63 - 1)
local balances, totals, held, accounts, journal, reference_key, version = unpack(KEYS, 1, 7)
local account, asset, units, reference, ts = unpack(ARGV, 1, 5)
local DONE, REPEATED, INSUFFICIENT_FUNDS, REFERENCE_REUSED, OVERFLOW = 1, 2, -1, -2, -3

local first = redis.call('HMGET', reference_key, 'account', 'asset', 'units', 'available')
if first[1] then
  if first[1] == account and first[2] == asset and first[3] == units then
    return {REPEATED, first[4]}
  end
  return {REFERENCE_REUSED, first[1], first[2], first[3]}
end
local available = redis.call('HGET', balances, asset) or '0'
local high, low = int64_add(available, units)
if int64_negative(high) then return {INSUFFICIENT_FUNDS, available} end
-- Every total bounds what any account holds, so once these fit, so does every balance.
if not int64_fits(high, low)
    or not int64_fits(int64_add(redis.call('HGET', totals, asset) or '0', units))
    or not int64_fits(int64_add(redis.call('HGET', held, asset) or '0', units)) then
  return {OVERFLOW, available}
end

redis.call('HINCRBY', balances, asset, units)
redis.call('HINCRBY', totals, asset, units)
redis.call('HINCRBY', held, asset, units)
redis.call('INCR', version)
local after = redis.call('HGET', balances, asset)
redis.call('HSET', reference_key, 'account', account, 'asset', asset, 'units', units,
           'available', after)
redis.call('SADD', accounts, account)
redis.call('XADD', journal, '*', 'account', account, 'asset', asset, 'units', units,
           'reference', reference, 'ts', ts)
return {DONE, after}
