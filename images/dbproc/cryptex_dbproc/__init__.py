"""The DB processor: every market's event stream into PostgreSQL (trades, order history and
candles), acknowledged only after the commit, and idempotent, so a redelivery changes nothing.

`batch`, `orders` and `candles` are pure (events in, rows out); `store` speaks to PostgreSQL,
`service` to Redis, `timescale` sets up TimescaleDB where the extension exists.
"""
