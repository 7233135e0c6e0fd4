-- Read every balance and every open order's lock in one consistent view (read-only; it blocks
-- Redis while it runs, so it is for audits, not for the hot path). Key names come in ARGV as
-- templates from cryptex.keys, with %s for the account or order id.
-- KEYS: accounts set, totals
-- ARGV: balances template, open-orders template, order template
-- Returns {totals pairs, {account, balance pairs, {order id, lock asset, locked, status}...}...}
local result = {redis.call('HGETALL', KEYS[2])}
for _, account in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local orders = {}
  for _, order_id in ipairs(redis.call('SMEMBERS', string.format(ARGV[2], account))) do
    local record = redis.call('HMGET', string.format(ARGV[3], order_id),
                              'lock_asset', 'locked', 'status')
    orders[#orders + 1] = {order_id, record[1] or '', record[2] or '0', record[3] or ''}
  end
  result[#result + 1] = {account, redis.call('HGETALL', string.format(ARGV[1], account)), orders}
end
return result
