-- Users, and the history the DB processor writes from the engines' events. Amounts are NUMERIC
-- in asset units (never floats); ids are the engines' integers.

CREATE TABLE users (
    id            bigserial PRIMARY KEY,  -- the ledger's account id (0 is the fee account)
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    role          text NOT NULL DEFAULT 'trader' CHECK (role IN ('trader', 'admin')),
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trades (
    market          text        NOT NULL,
    trade_id        bigint      NOT NULL,
    ts              timestamptz NOT NULL,
    price           numeric     NOT NULL,
    quantity        numeric     NOT NULL,
    quote_quantity  numeric     NOT NULL,
    taker_side      text        NOT NULL CHECK (taker_side IN ('BUY', 'SELL')),
    maker_order_id  bigint      NOT NULL,
    taker_order_id  bigint      NOT NULL,
    maker_account   bigint      NOT NULL,
    taker_account   bigint      NOT NULL,
    PRIMARY KEY (market, trade_id, ts)  -- ts in the key: a hypertable's keys must hold it
);
CREATE INDEX trades_market_ts ON trades (market, ts DESC);
CREATE INDEX trades_maker_account ON trades (maker_account, ts DESC);
CREATE INDEX trades_taker_account ON trades (taker_account, ts DESC);

CREATE TABLE orders (
    order_id        bigint      PRIMARY KEY,
    market          text        NOT NULL,
    account         bigint      NOT NULL,
    side            text        NOT NULL,
    order_type      text        NOT NULL,
    time_in_force   text        NOT NULL,
    price           numeric     NOT NULL,
    quantity        numeric     NOT NULL,
    executed        numeric     NOT NULL DEFAULT 0,
    executed_quote  numeric     NOT NULL DEFAULT 0,
    status          text        NOT NULL,
    reason          text        NOT NULL DEFAULT '',
    client_order_id text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX orders_account_created ON orders (account, created_at DESC);

CREATE TABLE candles (
    market       text        NOT NULL,
    interval     text        NOT NULL CHECK (interval IN ('1m', '5m', '15m', '1h', '1d')),
    open_time    timestamptz NOT NULL,
    open         numeric     NOT NULL,
    high         numeric     NOT NULL,
    low          numeric     NOT NULL,
    close        numeric     NOT NULL,
    base_volume  numeric     NOT NULL,
    quote_volume numeric     NOT NULL,
    trade_count  bigint      NOT NULL,
    PRIMARY KEY (market, interval, open_time)
);
