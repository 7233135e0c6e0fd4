"""The ledger's rules as a client meets them: a transfer reference and a clientOrderId each name
one thing, open orders are bounded per market, and a market order's minimum notional is judged
at the price it can fill at."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import yaml

from cryptex import registry
from tests.integration.api.conftest import Stack, Trader, sign_up
from tests.integration.engine.harness import EXAMPLES


def transfer(admin: httpx.Client, kind: str, account: int, amount: str, ref: str) -> httpx.Response:
    return admin.post(
        f"/api/v1/admin/{kind}",
        json={"account": account, "asset": "USDC", "amount": amount, "reference": ref},
    )


def test_a_transfer_reference_names_one_transfer(stack: Stack, admin_token: str) -> None:
    """As a new user found it: a withdrawal reusing a deposit's reference answered 200 and
    debited nothing; a custody system paying out on that answer lost the funds."""
    trader = sign_up(stack)
    ref = f"ref-{uuid.uuid4().hex}"
    with stack.client(admin_token) as admin:
        first = transfer(admin, "deposits", trader.account, "1000", ref)
        assert (first.status_code, first.json()["free"]) == (200, "1000.000000")
        for kind, amount in (("withdrawals", "400"), ("deposits", "5000"), ("withdrawals", "1000")):
            refused = transfer(admin, kind, trader.account, amount, ref)
            assert refused.status_code == 409, refused.text
            assert refused.json()["code"] == -2032
        assert transfer(admin, "deposits", trader.account, "1", f"more-{ref}").status_code == 200
        again = transfer(admin, "deposits", trader.account, "1000", ref)
        assert (again.status_code, again.json()["free"]) == (200, "1000.000000")  # the first answer
    held = trader.http.get("/api/v1/balances").json()
    assert held == [{"asset": "USDC", "free": "1001.000000", "locked": "0.000000"}]
    trader.http.close()


def test_a_client_order_id_reused_for_other_terms_is_refused(
    traders: tuple[Trader, Trader],
) -> None:
    a, _ = traders
    order = {"side": "buy", "price": "100", "quantity": "1", "market": "SOL_USDC",
             "clientOrderId": f"c-{uuid.uuid4().hex[:8]}"}  # fmt: skip
    first = a.http.post("/api/v1/order", json=order)
    assert first.status_code == 200, first.text
    retry = a.http.post("/api/v1/order", json=order)
    assert (retry.status_code, retry.json()["orderId"]) == (200, first.json()["orderId"])
    before = a.http.get("/api/v1/balances").json()
    for change in ({"price": "101"}, {"quantity": "2"}, {"side": "sell"}, {"timeInForce": "IOC"}):
        refused = a.http.post("/api/v1/order", json={**order, **change})
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == -2031
    assert a.http.get("/api/v1/balances").json() == before
    assert len(a.http.get("/api/v1/orders/open").json()) == 1


@contextmanager
def sol_usdc_with(stack: Stack, **spec: Any) -> Iterator[None]:
    """SOL_USDC listed with other spec fields while the block runs, as the API sees it."""
    manifest = yaml.safe_load((EXAMPLES / "sol-usdc.yaml").read_text())
    client = stack.redis.client()

    def listed(fields: dict[str, Any]) -> None:
        registry.register(client, {**manifest, "spec": {**manifest["spec"], **fields}})
        deadline = time.monotonic() + 10
        with stack.client() as anonymous:
            while True:
                [sol] = [m for m in anonymous.get("/api/v1/markets").json()
                         if m["symbol"] == "SOL_USDC"]  # fmt: skip
                if all(sol[name] == value for name, value in fields.items()):
                    return
                assert time.monotonic() < deadline, sol
                time.sleep(0.1)

    listed(spec)
    try:
        yield
    finally:
        listed({name: manifest["spec"].get(name, 200) for name in spec})
        client.close()


def test_open_orders_per_account_and_market_are_bounded(
    stack: Stack, traders: tuple[Trader, Trader]
) -> None:
    a, b = traders
    bid = {"side": "buy", "price": "100", "quantity": "0.1", "market": "SOL_USDC"}
    with sol_usdc_with(stack, maxOpenOrders=2):
        for _ in range(2):
            assert a.http.post("/api/v1/order", json=bid).status_code == 200
        refused = a.http.post("/api/v1/order", json=bid)
        assert refused.status_code == 400, refused.text
        assert refused.json() == {
            "code": -2030, "msg": "too many open orders: SOL_USDC allows 2 per account",
        }  # fmt: skip
        ask = {"side": "sell", "price": "200", "quantity": "0.1", "market": "SOL_USDC"}
        assert b.http.post("/api/v1/order", json=ask).status_code == 200  # another account
        [oldest, _] = a.http.get("/api/v1/orders/open").json()
        assert a.http.delete(f"/api/v1/order/{oldest['orderId']}").status_code == 200
        assert a.http.post("/api/v1/order", json=bid).status_code == 200  # room again


def test_a_market_order_meets_min_notional_at_the_price_it_can_fill_at(
    traders: tuple[Trader, Trader],
) -> None:
    """SOL_USDC's minimum notional is 5 USDC, and a market order's protection price lies 5%
    beyond the best opposite price. Judged at that bound, a market sell worth 5.10 at the best
    bid was refused and a market buy worth 4.95 at the best ask accepted."""
    a, b = traders
    resting = [
        a.http.post("/api/v1/order", json={"side": "buy", "price": "100", "quantity": "1",
                                            "market": "SOL_USDC"}),
        b.http.post("/api/v1/order", json={"side": "sell", "price": "150", "quantity": "1",
                                            "market": "SOL_USDC"}),
    ]  # fmt: skip
    assert [r.status_code for r in resting] == [200, 200], [r.text for r in resting]
    sell = b.http.post(
        "/api/v1/order", json={"side": "sell", "type": "market", "quantity": "0.051",
                               "market": "SOL_USDC"},
    )  # fmt: skip
    assert sell.status_code == 200, sell.text
    assert (sell.json()["status"], sell.json()["cumulativeQuoteQty"]) == ("FILLED", "5.100000")
    buy = a.http.post(
        "/api/v1/order", json={"side": "buy", "type": "market", "quantity": "0.033",
                               "market": "SOL_USDC"},
    )  # fmt: skip
    assert buy.status_code == 400, buy.text
    assert buy.json()["code"] == -1013
    assert "notional 4.950000 USDC is below the minimum 5.000000" in buy.json()["msg"]
