-- The trade that opened and the trade that closed each candle, by (ts, trade_id), so that the DB
-- processor's upsert finds the same open and close whatever order batches arrive in. Nullable:
-- a row written without them (by hand, or before this file) keeps its open and close.

ALTER TABLE candles
    ADD COLUMN first_trade_ts timestamptz,
    ADD COLUMN first_trade_id bigint,
    ADD COLUMN last_trade_ts  timestamptz,
    ADD COLUMN last_trade_id  bigint;
