-- Exact signed 64-bit integers for the ledger's scripts, on the decimal text that HGET gives
-- and the scripts' arguments carry. Lua numbers are doubles, exact only up to 2^53, and
-- tostring() of one past 10^14 prints an exponent; so no amount is ever a Lua number here.
-- A value is kept as a pair (high, low) = (floor(value / 10^9), value mod 10^9): both parts
-- are far below 2^53, so adding and comparing pairs is exact.
local BILLION = 1000000000
local INT64_MAX_HIGH, INT64_MAX_LOW = 9223372036, 854775807  -- 2^63 - 1
local INT64_MIN_HIGH, INT64_MIN_LOW = -9223372037, 145224192  -- -2^63

local function int64_pair(text)
  local negative = string.sub(text, 1, 1) == '-'
  local digits = negative and string.sub(text, 2) or text
  local cut = #digits - 9
  local high = cut > 0 and tonumber(string.sub(digits, 1, cut)) or 0
  local low = tonumber(string.sub(digits, math.max(cut + 1, 1)))
  if negative then high, low = -high, -low end
  local carry = math.floor(low / BILLION)
  return high + carry, low - carry * BILLION
end

-- A pair plus an integer given as text, as a pair.
local function int64_plus(high, low, text)
  local add_high, add_low = int64_pair(text)
  high, low = high + add_high, low + add_low
  if low >= BILLION then return high + 1, low - BILLION end
  return high, low
end

-- The sum of two integers given as text, as a pair.
local function int64_add(a, b)
  local high, low = int64_pair(a)
  return int64_plus(high, low, b)
end

local function int64_negative(high)
  return high < 0
end

local function int64_fits(high, low)
  if high > INT64_MAX_HIGH or (high == INT64_MAX_HIGH and low > INT64_MAX_LOW) then
    return false
  end
  return high > INT64_MIN_HIGH or (high == INT64_MIN_HIGH and low >= INT64_MIN_LOW)
end

local function int64_text(high, low)
  local sign = ''
  if high < 0 then
    sign, high, low = '-', -high, -low
    if low < 0 then high, low = high - 1, low + BILLION end
  end
  if high == 0 then return sign .. string.format('%d', low) end
  return sign .. string.format('%d%09d', high, low)
end

