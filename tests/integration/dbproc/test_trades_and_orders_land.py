"""Trades and order history from a real engine's events land in PostgreSQL with exact values:
the trades as the engine matched them, every order as the ledger's record has it."""

from __future__ import annotations

import redis

from cryptex.wire import OrderType, Side, TimeInForce
from tests.integration.dbproc.harness import (
    DbprocProcess,
    as_recorded,
    at,
    exact,
    fetch,
    wait_written,
)
from tests.integration.engine.harness import EngineProcess, Exchange


def test_trades_and_orders_land_with_exact_values(
    engine: EngineProcess, dbproc: DbprocProcess, exchange: Exchange, database_url: str,
    redis_client: redis.Redis,
) -> None:  # fmt: skip
    sol = exchange.market
    exchange.fund(1, "USDC", "10000")
    exchange.fund(2, "SOL", "100")
    ask = exchange.placed(2, Side.SELL, "150.00", "2", client_order_id="ask-1")
    buy = exchange.placed(1, Side.BUY, "151.00", "1.5")  # 1.5 @ 150.00
    bid = exchange.placed(1, Side.BUY, "149.00", "1")
    hit = exchange.placed(2, Side.SELL, "149.00", "0.2", time_in_force=TimeInForce.IOC)
    exchange.cancel(bid, 1)  # 0.2 of 1 filled
    ioc = exchange.placed(1, Side.BUY, "150.00", "1", time_in_force=TimeInForce.IOC)  # 0.5 fills
    far = exchange.placed(2, Side.SELL, "155.00", "1")
    post = exchange.placed(1, Side.BUY, "156.00", "1", post_only=True)  # would take: rejected
    market_buy = exchange.placed(
        1, Side.BUY, None, "0.5", order_type=OrderType.MARKET, protection_price="160.00"
    )
    exchange.amend(far, 2, "0.8")  # 0.5 executed, 0.3 left resting
    exchange.wait_settled()
    wait_written(redis_client, [sol.symbol])

    trades = [exact(row) for row in fetch(database_url, "SELECT * FROM trades ORDER BY trade_id")]
    taker_ts = {o.order_id: o.ts for o in exchange.commands() if hasattr(o, "order_id")}
    assert trades == [
        {"market": "SOL_USDC", "trade_id": 1, "ts": at(taker_ts[buy]), "price": "150.00",
         "quantity": "1.500", "quote_quantity": "225.000000", "taker_side": "BUY",
         "maker_order_id": ask, "taker_order_id": buy, "maker_account": 2, "taker_account": 1},
        {"market": "SOL_USDC", "trade_id": 2, "ts": at(taker_ts[hit]), "price": "149.00",
         "quantity": "0.200", "quote_quantity": "29.800000", "taker_side": "SELL",
         "maker_order_id": bid, "taker_order_id": hit, "maker_account": 1, "taker_account": 2},
        {"market": "SOL_USDC", "trade_id": 3, "ts": at(taker_ts[ioc]), "price": "150.00",
         "quantity": "0.500", "quote_quantity": "75.000000", "taker_side": "BUY",
         "maker_order_id": ask, "taker_order_id": ioc, "maker_account": 2, "taker_account": 1},
        {"market": "SOL_USDC", "trade_id": 4, "ts": at(taker_ts[market_buy]), "price": "155.00",
         "quantity": "0.500", "quote_quantity": "77.500000", "taker_side": "BUY",
         "maker_order_id": far, "taker_order_id": market_buy, "maker_account": 2,
         "taker_account": 1},
    ]  # fmt: skip

    orders = {row["order_id"]: exact(row) for row in fetch(database_url, "SELECT * FROM orders")}
    placed = [ask, buy, bid, hit, ioc, far, post, market_buy]
    assert orders == {order_id: as_recorded(exchange.ledger, sol, order_id) for order_id in placed}
    summary = {
        order_id: (row["status"], row["executed"], row["executed_quote"], row["reason"])
        for order_id, row in orders.items()
    }
    assert summary == {
        ask: ("FILLED", "2.000", "300.000000", ""),
        buy: ("FILLED", "1.500", "225.000000", ""),
        bid: ("CANCELED", "0.200", "29.800000", ""),
        hit: ("FILLED", "0.200", "29.800000", ""),
        ioc: ("EXPIRED", "0.500", "75.000000", "IOC"),
        far: ("PARTIALLY_FILLED", "0.500", "77.500000", ""),
        post: ("REJECTED", "0.000", "0.000000", "POST_ONLY_WOULD_TAKE"),
        market_buy: ("FILLED", "0.500", "77.500000", ""),
    }
    assert (orders[ask]["client_order_id"], orders[hit]["time_in_force"]) == ("ask-1", "IOC")
    assert (orders[far]["quantity"], orders[ask]["quantity"]) == ("0.800", "2.000")
    assert (orders[market_buy]["order_type"], orders[market_buy]["price"]) == ("MARKET", "160.00")
