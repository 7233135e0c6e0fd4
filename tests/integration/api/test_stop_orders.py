"""Stop-loss and take-profit orders through REST: they lock when placed, wait as NEW, trigger
when the last trade price reaches their stop price, and cancel while waiting; the market rules
refuse a stop that would trigger at once, a stop price off the tick, and wrong combinations."""

from __future__ import annotations

import pytest

from tests.integration.api.conftest import Stack, Trader
from tests.integration.api.test_trading import balances


def place(trader: Trader, **order: object) -> dict[str, object]:
    answer = trader.http.post("/api/v1/order", json={"market": "SOL_USDC", **order})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def trade_at(a: Trader, b: Trader, price: str) -> None:
    """A (USDC) buys 0.1 SOL from B at `price`: the market's last price."""
    place(b, side="sell", price=price, quantity="0.1")
    assert place(a, side="buy", price=price, quantity="0.1")["status"] == "FILLED"


def test_a_stop_loss_limit_waits_then_triggers_when_the_price_falls_to_it(
    stack: Stack, traders: tuple[Trader, Trader]
) -> None:
    a, b = traders
    trade_at(a, b, "150")
    stop = place(b, side="sell", type="STOP_LOSS_LIMIT", stopPrice="149", price="148", quantity="2")
    assert (stop["status"], stop["type"], stop["stopPrice"], stop["price"]) == (
        "NEW", "STOP_LOSS_LIMIT", "149.00", "148.00",
    )  # fmt: skip
    assert balances(b)["SOL"] == ("97.90000000", "2.00000000")  # locked when placed

    place(a, side="buy", price="149", quantity="1")
    place(b, side="sell", price="149", quantity="0.5")  # a trade at 149 reaches the stop
    # Triggered, the stop sells as a limit order at 148: the 0.5 left at 149, then it rests.
    after = b.http.get(f"/api/v1/order/{stop['orderId']}").json()
    assert (after["status"], after["executedQty"]) == ("PARTIALLY_FILLED", "0.500")
    depth = b.http.get("/api/v1/depth", params={"symbol": "SOL_USDC"}).json()
    assert ["148.00", "1.500"] in depth["asks"]
    assert stack.ledger().audit().ok


def test_a_stop_market_buy_locks_at_its_protection_price_and_cancels_while_waiting(
    traders: tuple[Trader, Trader],
) -> None:
    a, b = traders
    trade_at(a, b, "150")
    before = balances(a)["USDC"]
    stop = place(a, side="buy", type="STOP_LOSS", stopPrice="160", quantity="1")
    assert (stop["status"], stop["price"]) == ("NEW", "168.00")  # 5 % above the stop price
    # 168 USDC and the 20 bps taker fee on it.
    assert balances(a)["USDC"][1] == "168.336000"

    cancelled = a.http.delete(f"/api/v1/order/{stop['orderId']}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "CANCELED"
    assert balances(a)["USDC"] == before


def test_a_take_profit_sell_triggers_as_a_market_order_when_the_price_rises(
    traders: tuple[Trader, Trader],
) -> None:
    a, b = traders
    trade_at(a, b, "150")
    stop = place(b, side="sell", type="TAKE_PROFIT", stopPrice="151", quantity="0.3")
    place(a, side="buy", price="150.5", quantity="1")  # the bid the stop will sell into
    place(b, side="sell", price="151", quantity="0.1")
    place(a, side="buy", price="151", quantity="0.1")  # a trade at 151: the stop triggers
    after = b.http.get(f"/api/v1/order/{stop['orderId']}").json()
    assert (after["status"], after["executedQty"], after["cumulativeQuoteQty"]) == (
        "FILLED", "0.300", "45.150000",
    )  # fmt: skip


def test_a_stop_that_would_trigger_at_once_is_refused(traders: tuple[Trader, Trader]) -> None:
    a, b = traders
    trade_at(a, b, "150")
    refused = a.http.post(
        "/api/v1/order",
        json={"market": "SOL_USDC", "side": "buy", "type": "STOP_LOSS_LIMIT",
              "stopPrice": "149", "price": "151", "quantity": "1"},
    )  # fmt: skip
    assert refused.status_code == 400, refused.text
    assert refused.json() == {
        "code": -2010,
        "msg": "stopPrice: the last price is at or above it already, so this BUY "
        "STOP_LOSS_LIMIT order would trigger immediately (the last price is 150.00)",
    }
    assert balances(a)["USDC"][1] == "0.000000"


@pytest.mark.parametrize(
    ("order", "code", "msg"),
    [
        ({"type": "STOP_LOSS", "stopPrice": "140.005", "quantity": "1"}, -1013, "stopPrice"),
        ({"type": "STOP_LOSS_LIMIT", "price": "139", "quantity": "1"}, -1102,
         "stopPrice: is required for a STOP_LOSS_LIMIT order"),
        ({"type": "STOP_LOSS_LIMIT", "stopPrice": "140", "quantity": "1"}, -1102,
         "price: is required for a STOP_LOSS_LIMIT order"),
        ({"type": "STOP_LOSS", "stopPrice": "140", "price": "139", "quantity": "1"}, -1100,
         "price: a STOP_LOSS order executes as a market order"),
        ({"type": "limit", "price": "139", "stopPrice": "140", "quantity": "1"}, -1100,
         "stopPrice: a LIMIT order takes none"),
        ({"type": "TAKE_PROFIT", "stopPrice": "140", "quoteOrderQty": "100"}, -1100,
         "quoteOrderQty: a stop order takes a quantity"),
        ({"type": "TAKE_PROFIT_LIMIT", "stopPrice": "140", "price": "139", "quantity": "1",
          "postOnly": True}, -1100, "postOnly: a stop order cannot be post-only"),
    ],
)  # fmt: skip
def test_malformed_stop_orders_are_refused(
    traders: tuple[Trader, Trader], order: dict[str, object], code: int, msg: str
) -> None:
    _, b = traders
    refused = b.http.post("/api/v1/order", json={"market": "SOL_USDC", "side": "sell", **order})
    assert refused.status_code == 400, refused.text
    assert refused.json()["code"] == code
    assert refused.json()["msg"].startswith(msg)


def test_markets_list_the_order_types_they_take(stack: Stack) -> None:
    with stack.client() as anonymous:
        markets = anonymous.get("/api/v1/markets").json()
    assert {market["symbol"]: market["orderTypes"] for market in markets}["SOL_USDC"] == [
        "LIMIT", "MARKET", "STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT",
    ]  # fmt: skip
