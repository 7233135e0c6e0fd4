"""The API's JSON read exactly: markets into `MarketSpec`, balances into units, orders into ticks
and lots, the book into a reference; anything off the protocol is a `PayloadError`."""

from __future__ import annotations

import json
from typing import Any

import pytest

from cryptex.markets import MarketSpec
from cryptex.wire import OrderStatus, Side
from cryptex_mm import payloads
from cryptex_mm.payloads import Balance, OrderChange, PayloadError
from cryptex_mm.quoting import SUBTICKS, Resting

SOL_JSON: dict[str, Any] = {
    "symbol": "SOL_USDC", "base": "SOL", "quote": "USDC", "baseDecimals": 8,
    "quoteDecimals": 6, "tickSize": "0.01", "lotSize": "0.001", "minQty": "0.010",
    "maxQty": "100000.000", "minNotional": "5.000000", "makerFeeBps": 10, "takerFeeBps": 20,
    "tradingState": "Active", "maxOpenOrders": 200,
}  # fmt: skip


def test_a_listed_market_is_the_manifests_market(sol: MarketSpec) -> None:
    assert payloads.markets([SOL_JSON]) == {"SOL_USDC": sol}


@pytest.mark.parametrize(
    "broken",
    [{"tickSize": "0.015x"}, {"minQty": "0.0105"}, {"tradingState": "Sleeping"},
     {"baseDecimals": "8"}, {"lotSize": None}],
)  # fmt: skip
def test_a_market_off_the_protocol_is_refused(broken: dict[str, Any]) -> None:
    with pytest.raises(PayloadError, match="SOL_USDC"):
        payloads.market({**SOL_JSON, **broken})


def test_balances_in_units_of_known_assets_only(sol: MarketSpec) -> None:
    known = payloads.assets({"SOL_USDC": sol})
    answer = [
        {"asset": "SOL", "free": "1.50000000", "locked": "0.00000001"},
        {"asset": "USDC", "free": "924.724750", "locked": "0.000000"},
        {"asset": "DOGE", "free": "5", "locked": "0"},
    ]
    assert payloads.balances(answer, known) == {
        "SOL": Balance(150_000_000, 1),
        "USDC": Balance(924_724_750, 0),
    }
    with pytest.raises(PayloadError):
        payloads.balances([{"asset": "SOL", "free": "0.000000001", "locked": "0"}], known)


def test_orders_in_ticks_and_lots(sol: MarketSpec) -> None:
    answer = {
        "orderId": 1001, "clientOrderId": "mm-1", "market": "SOL_USDC", "side": "BUY",
        "type": "LIMIT", "timeInForce": "GTC", "price": "149.85", "quantity": "1.000",
        "status": "PARTIALLY_FILLED", "executedQty": "0.250", "cumulativeQuoteQty": "37.462500",
    }  # fmt: skip
    assert payloads.resting(sol, answer) == Resting(1001, Side.BUY, 14985, 1000, 250)
    assert payloads.order_change(sol, answer) == OrderChange(
        1001, "SOL_USDC", OrderStatus.PARTIALLY_FILLED, 250
    )
    with pytest.raises(PayloadError):
        payloads.resting(sol, {**answer, "price": "149.855"})


def test_subticks_round_to_the_nearest(sol: MarketSpec) -> None:
    assert payloads.subticks(sol, "150") == 15_000 * SUBTICKS
    assert payloads.subticks(sol, "150.000001") == 15_000 * SUBTICKS + 1  # 1e-6 is 1e-4 tick
    assert payloads.subticks(sol, "150.0000005") == 15_000 * SUBTICKS + 1  # half rounds up
    assert payloads.subticks(sol, "150.00000049") == 15_000 * SUBTICKS
    for bad in ("0", "-1", "1e3", "abc"):
        with pytest.raises(PayloadError):
            payloads.subticks(sol, bad)


def test_the_book_gives_a_mid_else_the_last_trade_else_one_side(sol: MarketSpec) -> None:
    bids, asks = [["149.90", "1.000"]], [["150.11", "2.000"]]
    trades = [{"id": 9, "price": "151.00", "qty": "0.5"}]
    ref = payloads.book_reference
    assert ref(sol, {"bids": bids, "asks": asks}, trades) == 15_000 * SUBTICKS + SUBTICKS // 2
    assert ref(sol, {"bids": bids, "asks": []}, trades) == 15_100 * SUBTICKS
    assert ref(sol, {"bids": [], "asks": asks}, []) == 15_011 * SUBTICKS
    assert ref(sol, {"bids": [], "asks": []}, []) is None
    with pytest.raises(PayloadError):
        ref(sol, {"bids": [["x", "1"]], "asks": []}, [])


@pytest.mark.parametrize(
    ("body", "price"),
    [('"150.25"', "150.25"), ("150.25", "150.25"), ('{"price": "150.25"}', "150.25"),
     ('{"price": 150.25, "ts": 1}', "150.25"), ("150", "150")],
)  # fmt: skip
def test_a_feed_price_is_read_as_written(body: str, price: str) -> None:
    assert payloads.feed_price(json.loads(body, parse_float=str, parse_int=str)) == price


@pytest.mark.parametrize("body", ["null", "[]", '{"last": "1"}', "true"])
def test_a_feed_without_a_price_is_refused(body: str) -> None:
    with pytest.raises(PayloadError, match="price feed"):
        payloads.feed_price(json.loads(body, parse_float=str, parse_int=str))
