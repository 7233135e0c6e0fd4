"""Amend keeping priority through the API: a lowered order keeps its place in the queue, and
the lock of the lots taken off comes back at once; bad amends are refused and change nothing."""

from __future__ import annotations

from tests.integration.api.conftest import Stack, Trader
from tests.integration.api.test_quote_quantity_orders import place
from tests.integration.api.test_trading import balances


def test_a_lowered_order_keeps_its_place_and_releases_its_lock(
    stack: Stack, traders: tuple[Trader, Trader]
) -> None:
    a, b = traders
    first = place(a, side="buy", price="100", quantity="2")
    second = place(a, side="buy", price="100", quantity="1")
    # Each lot of a buy at 100 locks 100 and 0.2 % of it for fees: 200.4 + 100.2.
    assert balances(a)["USDC"] == ("9699.400000", "300.600000")

    amended = a.http.post(f"/api/v1/order/{first['orderId']}/amend", json={"newQty": "0.5"})
    assert amended.status_code == 200, amended.text
    assert (amended.json()["quantity"], amended.json()["status"]) == ("0.500", "NEW")
    assert balances(a)["USDC"] == ("9849.700000", "150.300000")

    place(b, side="sell", price="100", quantity="0.5")
    # The amended order was first at 100 and still is: it fills, the later one is untouched.
    got = a.http.get(f"/api/v1/order/{first['orderId']}").json()
    assert (got["status"], got["executedQty"], got["quantity"]) == ("FILLED", "0.500", "0.500")
    assert a.http.get(f"/api/v1/order/{second['orderId']}").json()["status"] == "NEW"
    # 50 and its 0.05 maker fee paid; the rest of the first order's lock came back.
    assert balances(a) == {
        "SOL": ("0.50000000", "0.00000000"),
        "USDC": ("9849.750000", "100.200000"),
    }
    assert stack.ledger().audit().ok


def test_bad_amends_are_refused_and_change_nothing(traders: tuple[Trader, Trader]) -> None:
    a, b = traders
    order = place(a, side="buy", price="100", quantity="2")
    path = f"/api/v1/order/{order['orderId']}/amend"
    for body, status, code, text in [
        ({"newQty": "2"}, 400, -2034, "newQty: must be below the order's quantity 2.000"),
        ({"newQty": "3"}, 400, -2034, "newQty: must be below the order's quantity 2.000"),
        ({"newQty": "0"}, 400, -1013, "must be greater than zero"),
        ({"newQty": "0.0005"}, 400, -1013, "not a multiple of 0.001"),
        ({}, 400, -1102, "newQty: is required"),
    ]:
        answer = a.http.post(path, json=body)
        assert (answer.status_code, answer.json()["code"]) == (status, code), answer.text
        assert text in answer.json()["msg"]
    other = b.http.post(path, json={"newQty": "1"})
    assert (other.status_code, other.json()["code"]) == (404, -2013)
    assert balances(a)["USDC"] == ("9799.600000", "200.400000")

    assert a.http.delete(f"/api/v1/order/{order['orderId']}").status_code == 200
    closed = a.http.post(path, json={"newQty": "1"})
    assert closed.json() == {"code": -2034, "msg": f"order {order['orderId']} is CANCELED"}
