-- Each candle's taker-buy volumes (base and quote: the trades whose taker bought), as Binance's
-- klines carry them. The DB processor adds them up as it does the other volumes.
--
-- Candles written before this file get them from the trades they were built from, where every
-- one of those trades is still stored (trade_count of them in the candle's span); the others
-- (their trades past a retention) keep NULL: not known, and shown as such.

ALTER TABLE candles
    ADD COLUMN taker_buy_base_volume  numeric,
    ADD COLUMN taker_buy_quote_volume numeric;

WITH intervals(name, length) AS (
    VALUES ('1m', interval '1 minute'), ('5m', interval '5 minutes'),
           ('15m', interval '15 minutes'), ('1h', interval '1 hour'), ('1d', interval '1 day')),
recomputed AS (
    SELECT t.market, i.name AS interval,
           date_bin(i.length, t.ts, timestamptz 'epoch') AS open_time, count(*) AS trade_count,
           coalesce(sum(t.quantity) FILTER (WHERE t.taker_side = 'BUY'), 0) AS base_volume,
           coalesce(sum(t.quote_quantity) FILTER (WHERE t.taker_side = 'BUY'), 0) AS quote_volume
      FROM trades t CROSS JOIN intervals i
     GROUP BY 1, 2, 3)
UPDATE candles c
   SET taker_buy_base_volume = r.base_volume, taker_buy_quote_volume = r.quote_volume
  FROM recomputed r
 WHERE (c.market, c.interval, c.open_time) = (r.market, r.interval, r.open_time)
   AND c.trade_count = r.trade_count;
