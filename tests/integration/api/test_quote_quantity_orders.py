"""Market orders given a quote amount (`quoteOrderQty`): a buy spends, a sell receives, at
most that amount in whole lots; the unspent part of the lock returns; the ledger audit holds."""

from __future__ import annotations

from tests.integration.api.conftest import Stack, Trader
from tests.integration.api.test_trading import balances


def place(trader: Trader, **order: object) -> dict[str, object]:
    answer = trader.http.post("/api/v1/order", json={"market": "SOL_USDC", **order})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_quote_amount_buy_spends_whole_lots_and_releases_the_rest(
    traders: tuple[Trader, Trader],
) -> None:
    a, b = traders
    place(b, side="sell", price="150", quantity="2")
    place(b, side="sell", price="151", quantity="1")

    order = place(a, side="buy", type="market", quoteOrderQty="376")
    # 2 SOL at 150 = 300; 76 more buys 0.503 SOL at 151 = 75.953 (0.504 would cost 76.104).
    assert [(f["price"], f["qty"]) for f in order["fills"]] == [  # type: ignore[attr-defined]
        ("150.00", "2.000"), ("151.00", "0.503"),
    ]  # fmt: skip
    assert (order["executedQty"], order["cumulativeQuoteQty"], order["quoteOrderQty"]) == (
        "2.503", "375.953000", "376.000000",
    )  # fmt: skip
    # Its lot cap, 376 / 150 = 2.506 SOL at the best ask, is not reached: the rest expires.
    assert (order["quantity"], order["status"]) == ("2.506", "EXPIRED")
    # Taker fees, 20 bps a trade: 0.6 + 0.151906. Nothing stays locked.
    assert balances(a) == {"SOL": ("2.50300000", "0.00000000"), "USDC": ("9623.295094", "0.000000")}


def test_a_quote_amount_sell_receives_at_most_that_amount(
    stack: Stack, traders: tuple[Trader, Trader]
) -> None:
    a, b = traders
    place(a, side="buy", price="100", quantity="1")
    place(a, side="buy", price="99", quantity="1")

    order = place(b, side="sell", type="market", quoteOrderQty="150")
    # 1 SOL at 100, then 50 more gets 0.505 SOL at 99 = 49.995.
    assert (order["executedQty"], order["cumulativeQuoteQty"]) == ("1.505", "149.995000")
    # B receives 149.995 less 0.2 + 0.09999 in taker fees; its base lock (150 / 95 SOL at the
    # protection price, 5 % under the best bid) is released but for what it sold.
    assert balances(b) == {"SOL": ("98.49500000", "0.00000000"), "USDC": ("149.695010", "0.000000")}
    assert stack.ledger().audit().ok


def test_a_quote_amount_below_the_minimum_quantity_is_refused(
    traders: tuple[Trader, Trader],
) -> None:
    a, b = traders
    place(b, side="sell", price="1000", quantity="1")
    refused = a.http.post(
        "/api/v1/order",
        json={"market": "SOL_USDC", "side": "buy", "type": "market", "quoteOrderQty": "9.99"},
    )
    assert refused.status_code == 400, refused.text
    assert refused.json() == {
        "code": -1013,
        "msg": "quoteOrderQty 9.990000 buys less than the minimum quantity 0.010 at 1000.00",
    }
    assert balances(a)["USDC"] == ("10000.000000", "0.000000")
