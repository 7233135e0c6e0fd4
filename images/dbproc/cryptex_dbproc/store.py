"""Writing one market's batch to PostgreSQL, in one transaction, so that writing it again (a
redelivery) or batches out of order change nothing more.

- trades: inserted with ON CONFLICT DO NOTHING; the ids RETURNING gives are the trades
  inserted now, and only those count towards orders' executed amounts and candles.
- orders: an order placed in the batch is inserted with the batch's change already in it;
  every other order the batch changes is updated by the rules of `orders` (amounts added, a
  final status kept, the latest time). An order that is neither (its placing batch not written
  yet) is first inserted from the ledger's record, then updated.
- candles: upserted by the rules of `candles` (open and close by their trades' keys, volumes
  and taker-buy volumes added).

Rows travel as the engine's integers (copied in where there are many) and become decimals in
SQL: an integer times one tick, one lot or one quote unit (`MarketSpec.format_price(1)`, ...)
is exact, with the very digits and scale that `format_price` and the others give, and costs
the client nothing per row. Times are the epoch plus that many milliseconds (exact to the
microsecond until the year 2255). Rows of each statement go in sorted by their key, so
concurrent writers lock in one order.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Container, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import asyncpg

from cryptex.markets import MarketSpec
from cryptex_dbproc import candles, orders
from cryptex_dbproc.batch import Batch
from cryptex_dbproc.candles import CandleRow
from cryptex_dbproc.orders import FINAL, OrderChange, OrderRow, Placement

# A connection of its own or one lent by a pool.
Connection = asyncpg.Connection | asyncpg.pool.PoolConnectionProxy
# Reads the ledger's placements of orders (Redis); missing ones are left out.
PlacementLookup = Callable[[Collection[int]], Awaitable[Mapping[int, Placement]]]

_MS: Final = "timestamptz 'epoch' + {} * interval '1 millisecond'"

# Trades and new orders are copied (COPY, the cheapest way in) into staging tables of this
# session, then moved into their tables, emptying the staging table in the same statement.
_STAGING: Final = """
CREATE TEMP TABLE IF NOT EXISTS staged_trades (
    trade_id bigint, ts bigint, price bigint, quantity bigint, quote bigint, taker_side text,
    maker_order_id bigint, taker_order_id bigint, maker_account bigint, taker_account bigint
) ON COMMIT DELETE ROWS;
CREATE TEMP TABLE IF NOT EXISTS staged_orders (
    order_id bigint, account bigint, side text, order_type text, time_in_force text,
    price bigint, quantity bigint, executed bigint, executed_quote bigint, status text,
    reason text, client_order_id text, created bigint, updated bigint
) ON COMMIT DELETE ROWS"""

# $2, $3, $4: one tick, one lot, one quote unit. The ids of the rows inserted now come back as
# one array.
_INSERT_TRADES: Final = f"""
WITH t AS (DELETE FROM staged_trades RETURNING *),
inserted AS (
    INSERT INTO trades (market, trade_id, ts, price, quantity, quote_quantity, taker_side,
                        maker_order_id, taker_order_id, maker_account, taker_account)
    SELECT $1, t.trade_id, {_MS.format("t.ts")}, t.price * $2::numeric,
           t.quantity * $3::numeric, t.quote * $4::numeric, t.taker_side, t.maker_order_id,
           t.taker_order_id, t.maker_account, t.taker_account
      FROM t ORDER BY t.trade_id
    ON CONFLICT (market, trade_id, ts) DO NOTHING
    RETURNING trade_id)
SELECT array_agg(trade_id) FROM inserted"""

_INSERT_ORDERS: Final = f"""
WITH o AS (DELETE FROM staged_orders RETURNING *),
inserted AS (
    INSERT INTO orders (order_id, market, account, side, order_type, time_in_force, price,
                        quantity, executed, executed_quote, status, reason, client_order_id,
                        created_at, updated_at)
    SELECT o.order_id, $1, o.account, o.side, o.order_type, o.time_in_force,
           o.price * $2::numeric, o.quantity * $3::numeric, o.executed * $3::numeric,
           o.executed_quote * $4::numeric, o.status, o.reason, o.client_order_id,
           {_MS.format("o.created")}, {_MS.format("o.updated")}
      FROM o ORDER BY o.order_id
    ON CONFLICT (order_id) DO NOTHING
    RETURNING order_id)
SELECT array_agg(order_id) FROM inserted"""

# `orders.status_after` in SQL ($3: the final statuses).
_UPDATE_ORDERS: Final = f"""
UPDATE orders AS o SET
    executed       = o.executed + c.executed * $1::numeric,
    executed_quote = o.executed_quote + c.executed_quote * $2::numeric,
    quantity = CASE WHEN c.quantity > 0 THEN least(o.quantity, c.quantity * $1::numeric)
                    ELSE o.quantity END,
    status = CASE WHEN o.status = ANY($3) THEN o.status
                  WHEN c.status <> '' THEN c.status
                  WHEN o.executed > 0 OR c.executed > 0 THEN 'PARTIALLY_FILLED'
                  ELSE o.status END,
    reason = CASE WHEN o.status <> ALL($3) AND c.status <> '' THEN c.reason ELSE o.reason END,
    updated_at = greatest(o.updated_at, {_MS.format("c.updated")})
  FROM unnest($4::bigint[], $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::bigint[],
              $10::bigint[])
       AS c(order_id, executed, executed_quote, status, reason, updated, quantity)
 WHERE o.order_id = c.order_id
RETURNING o.order_id"""

# `candles.Candle.add` as a merge of two candles; a row without trade keys keeps its open and
# close (a comparison with NULL is not true).
_UPSERT_CANDLES: Final = f"""
INSERT INTO candles AS c (market, interval, open_time, open, high, low, close, base_volume,
                          quote_volume, trade_count, taker_buy_base_volume,
                          taker_buy_quote_volume, first_trade_ts, first_trade_id,
                          last_trade_ts, last_trade_id)
SELECT $1, n.interval, {_MS.format("n.open_time")}, n.open * $2::numeric, n.high * $2::numeric,
       n.low * $2::numeric, n.close * $2::numeric, n.base_volume * $3::numeric,
       n.quote_volume * $4::numeric, n.trade_count, n.taker_buy_base_volume * $3::numeric,
       n.taker_buy_quote_volume * $4::numeric, {_MS.format("n.first_trade_ts")},
       n.first_trade_id, {_MS.format("n.last_trade_ts")}, n.last_trade_id
  FROM unnest($5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::bigint[],
              $11::bigint[], $12::bigint[], $13::bigint[], $14::bigint[], $15::bigint[],
              $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[])
       AS n(interval, open_time, open, high, low, close, base_volume, quote_volume, trade_count,
            taker_buy_base_volume, taker_buy_quote_volume, first_trade_ts, first_trade_id,
            last_trade_ts, last_trade_id)
ON CONFLICT (market, interval, open_time) DO UPDATE SET
    open = CASE WHEN (excluded.first_trade_ts, excluded.first_trade_id)
                     < (c.first_trade_ts, c.first_trade_id) THEN excluded.open ELSE c.open END,
    first_trade_ts = CASE WHEN (excluded.first_trade_ts, excluded.first_trade_id)
                     < (c.first_trade_ts, c.first_trade_id)
                     THEN excluded.first_trade_ts ELSE c.first_trade_ts END,
    first_trade_id = CASE WHEN (excluded.first_trade_ts, excluded.first_trade_id)
                     < (c.first_trade_ts, c.first_trade_id)
                     THEN excluded.first_trade_id ELSE c.first_trade_id END,
    close = CASE WHEN (excluded.last_trade_ts, excluded.last_trade_id)
                      > (c.last_trade_ts, c.last_trade_id) THEN excluded.close ELSE c.close END,
    last_trade_ts = CASE WHEN (excluded.last_trade_ts, excluded.last_trade_id)
                    > (c.last_trade_ts, c.last_trade_id)
                    THEN excluded.last_trade_ts ELSE c.last_trade_ts END,
    last_trade_id = CASE WHEN (excluded.last_trade_ts, excluded.last_trade_id)
                    > (c.last_trade_ts, c.last_trade_id)
                    THEN excluded.last_trade_id ELSE c.last_trade_id END,
    high = greatest(c.high, excluded.high),
    low = least(c.low, excluded.low),
    base_volume = c.base_volume + excluded.base_volume,
    quote_volume = c.quote_volume + excluded.quote_volume,
    trade_count = c.trade_count + excluded.trade_count,
    -- NULL (a candle older than these columns whose trades were gone) stays unknown
    taker_buy_base_volume = c.taker_buy_base_volume + excluded.taker_buy_base_volume,
    taker_buy_quote_volume = c.taker_buy_quote_volume + excluded.taker_buy_quote_volume"""

_FINAL_STATUSES: Final = sorted(status.value for status in FINAL)


@dataclass
class Written:
    trades: int = 0  # inserted now
    duplicates: int = 0  # already in the table: written by an earlier delivery
    orders_created: int = 0
    orders_updated: int = 0
    orders_from_ledger: int = 0  # changed before their placing batch was written
    candles: int = 0
    unknown_orders: list[int] = field(default_factory=list)  # changed, but found nowhere


@dataclass
class Prepared:
    """A batch with its rows built, expecting every trade to be new (they are, but on a
    redelivery): what `commit` writes. Built from Redis and in Python alone, so the next batch
    can be prepared while this one is committed."""

    batch: Batch
    trades: list[tuple[Any, ...]]  # trade rows, in staged_trades' column order
    placements: Mapping[int, Placement]
    rows: _Rows


async def prepare(market: MarketSpec, batch: Batch, lookup: PlacementLookup) -> Prepared:
    placements = await lookup(list(batch.placed)) if batch.placed else {}
    notional = market.notional
    trades = [
        (
            t.trade_id, t.ts, t.price, t.quantity, notional(t.price, t.quantity), t.taker_side,
            t.maker_order_id, t.taker_order_id, t.maker_account, t.taker_account,
        )
        for t in batch.trades
    ]  # fmt: skip
    every_trade = {trade.trade_id for trade in batch.trades}
    return Prepared(batch, trades, placements, _Rows.of(batch, market, every_trade, placements))


async def commit(
    conn: Connection, market: MarketSpec, prepared: Prepared, lookup: PlacementLookup
) -> Written:
    """Write a prepared batch in one transaction; `lookup` serves orders changed before the
    batch that placed them is written."""
    batch, rows, written = prepared.batch, prepared.rows, Written()
    async with conn.transaction():
        await conn.execute(_STAGING)  # once per session: then a no-op
        inserted = await _insert_trades(conn, market, prepared.trades)
        if len(inserted) < len(batch.trades):
            rows = _Rows.of(batch, market, inserted, prepared.placements)
        written.trades = len(inserted)
        written.duplicates = len(batch.trades) - len(inserted)
        created = await _insert_orders(conn, market, rows.placed)
        pending = {
            order_id: change
            for order_id, change in rows.changes.items()
            if order_id not in created and change.changes_anything
        }
        updated = await _update_orders(conn, market, pending)
        missing = pending.keys() - updated
        if missing:
            found = {
                order_id: placement
                for order_id, placement in (await lookup(sorted(missing))).items()
                if placement.market == market.symbol
            }
            recorded = [orders.recorded_row(i, placement) for i, placement in found.items()]
            written.orders_from_ledger = len(await _insert_orders(conn, market, recorded))
            updated |= await _update_orders(conn, market, {i: pending[i] for i in found})
            written.unknown_orders = sorted(missing - found.keys())
        written.orders_created, written.orders_updated = len(created), len(updated)
        if rows.candles:
            await conn.execute(
                _UPSERT_CANDLES, market.symbol, *_units(market),
                *_columns(rows.candles, len(CandleRow._fields)),
            )  # fmt: skip
        written.candles = len(rows.candles)
    return written


async def write(
    conn: Connection, market: MarketSpec, batch: Batch, lookup: PlacementLookup
) -> Written:
    """Prepare and commit one batch."""
    return await commit(conn, market, await prepare(market, batch, lookup), lookup)


@dataclass
class _Rows:
    """A batch's order changes, new orders and candles, given the trades inserted now."""

    changes: dict[int, OrderChange]
    placed: list[OrderRow]
    candles: list[CandleRow]

    @classmethod
    def of(
        cls, batch: Batch, market: MarketSpec, inserted: Container[int],
        placements: Mapping[int, Placement],
    ) -> _Rows:  # fmt: skip
        changes = orders.changes(batch, inserted, market)
        placed = [
            row
            for order_id, event in batch.placed.items()
            if (row := orders.placed_row(event, placements.get(order_id), changes[order_id]))
            is not None
        ]
        new_trades = [trade for trade in batch.trades if trade.trade_id in inserted]
        candle_rows = [candles.row(candle) for candle in candles.aggregate(new_trades, market)]
        return cls(changes, placed, candle_rows)


async def _insert_trades(
    conn: Connection, market: MarketSpec, rows: Sequence[tuple[Any, ...]]
) -> set[int]:
    if not rows:
        return set()
    await conn.copy_records_to_table("staged_trades", records=rows)
    return set(await conn.fetchval(_INSERT_TRADES, market.symbol, *_units(market)) or ())


async def _insert_orders(
    conn: Connection, market: MarketSpec, rows: Sequence[OrderRow]
) -> set[int]:
    if not rows:
        return set()
    await conn.copy_records_to_table("staged_orders", records=rows)
    return set(await conn.fetchval(_INSERT_ORDERS, market.symbol, *_units(market)) or ())


async def _update_orders(
    conn: Connection, market: MarketSpec, changes: Mapping[int, OrderChange]
) -> set[int]:
    if not changes:
        return set()
    rows = []
    for order_id in sorted(changes):
        change = changes[order_id]
        closing = change.closing
        rows.append((
            order_id, change.executed, change.executed_quote,
            closing.status.value if closing is not None else "",
            closing.reason if closing is not None else "", change.updated, change.quantity,
        ))  # fmt: skip
    _, lot, unit = _units(market)
    found = await conn.fetch(_UPDATE_ORDERS, lot, unit, _FINAL_STATUSES, *_columns(rows, 7))
    return {record[0] for record in found}


def _units(market: MarketSpec) -> tuple[str, str, str]:
    """One tick, one lot and one quote unit, as exact decimals."""
    return market.format_price(1), market.format_quantity(1), market.quote.format(1)


def _columns(rows: Sequence[Sequence[Any]], width: int) -> list[list[Any]]:
    if not rows:
        return [[] for _ in range(width)]
    return [list(column) for column in zip(*rows, strict=True)]
