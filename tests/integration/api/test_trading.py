"""Two accounts sign up, are funded, and cross orders through the API: fills, balances, fees."""

from __future__ import annotations

from tests.integration.api.conftest import Stack, Trader


def balances(trader: Trader) -> dict[str, tuple[str, str]]:
    answer = trader.http.get("/api/v1/balances")
    assert answer.status_code == 200, answer.text
    return {b["asset"]: (b["free"], b["locked"]) for b in answer.json()}


def test_two_traders_cross_and_settle_exactly(stack: Stack, traders: tuple[Trader, Trader]) -> None:
    a, b = traders
    ask = b.http.post(
        "/api/v1/order",
        json={
            "kind": "sell",
            "type": "limit",
            "price": "150",
            "quantity": "2",
            "market": "sol/usdc",
        },
    )
    assert ask.status_code == 200, ask.text
    assert (ask.json()["status"], ask.json()["executedQty"]) == ("NEW", "0.000")

    bid = a.http.post(
        "/api/v1/order",
        json={"side": "BUY", "price": 151, "quantity": 1.5, "market": "SOL-USDC"},
    )
    assert bid.status_code == 200, bid.text
    order = bid.json()
    assert (order["status"], order["executedQty"], order["cumulativeQuoteQty"]) == (
        "FILLED", "1.500", "225.000000",
    )  # fmt: skip
    assert [(f["price"], f["qty"]) for f in order["fills"]] == [("150.00", "1.500")]

    # 225 USDC + 0.45 taker fee for A; B receives 225 less its 0.225 maker fee.
    assert balances(a) == {"SOL": ("1.50000000", "0.00000000"), "USDC": ("9774.550000", "0.000000")}
    assert balances(b) == {"SOL": ("98.00000000", "0.50000000"), "USDC": ("224.775000", "0.000000")}
    fees = stack.ledger().balances(0)["USDC"]
    assert fees.available >= 675_000
