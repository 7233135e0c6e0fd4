"""The chart's `helm test`: one order placed and cancelled through the REST API.

Signs up a fresh trader, has the admin deposit enough of the quote asset, places a post-only
limit buy one tick above zero (it rests: nothing sells that low), cancels it and checks that the
lock went back. Standard library only: it runs in any Cryptex image. Exit 0 on success.

Environment: CRYPTEX_TEST_API_URL, CRYPTEX_TEST_ADMIN_EMAIL, CRYPTEX_TEST_ADMIN_PASSWORD, and
optionally CRYPTEX_TEST_MARKET (a symbol; else the first Active market).
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.request
import uuid
from decimal import ROUND_CEILING, Decimal
from typing import Any

API = os.environ["CRYPTEX_TEST_API_URL"].rstrip("/")
TIMEOUT_S = float(os.environ.get("CRYPTEX_TEST_TIMEOUT_S", "120"))


class RoundTripError(Exception):
    """The round trip did not go as it must."""


def call(method: str, path: str, body: Any = None, token: str | None = None) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(API + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def expect(status: int, answer: Any, wanted: int, what: str) -> Any:
    if status != wanted:
        raise RoundTripError(f"{what}: HTTP {status} {answer}")
    return answer


def step(message: str) -> None:
    print(f"- {message}", flush=True)


def wait_ready() -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while True:
        try:
            if call("GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise RoundTripError(f"{API}/readyz did not answer 200 within {TIMEOUT_S:.0f}s")
        time.sleep(2)


def ceil_to(value: Decimal, step_size: Decimal) -> Decimal:
    return (value / step_size).to_integral_value(rounding=ROUND_CEILING) * step_size


def sign_in(email: str, password: str) -> tuple[str, int]:
    answer = expect(
        *call("POST", "/api/v1/signin", {"email": email, "password": password}), 200, "sign-in"
    )
    return answer["token"], answer["accountId"]


def order_within(market: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """A (price, quantity) that passes the market's filters at the lowest price possible."""
    tick, lot = Decimal(market["tickSize"]), Decimal(market["lotSize"])
    min_qty, max_qty = Decimal(market["minQty"]), Decimal(market["maxQty"])
    min_notional = Decimal(market["minNotional"])
    price = tick
    quantity = max(min_qty, ceil_to(min_notional / price, lot))
    if quantity > max_qty:
        quantity = max_qty
        price = max(tick, ceil_to(min_notional / quantity, tick))
    return price, quantity


def main() -> None:
    wait_ready()
    markets = expect(*call("GET", "/api/v1/markets"), 200, "markets")
    wanted = os.environ.get("CRYPTEX_TEST_MARKET", "")
    active = [
        m
        for m in markets
        if m["tradingState"] == "Active" and m["symbol"] == (wanted or m["symbol"])
    ]
    if not active:
        raise RoundTripError(
            f"no Active market {wanted} to trade in: {[m['symbol'] for m in markets]}"
        )
    market = active[0]
    symbol, quote = market["symbol"], market["quote"]
    price, quantity = order_within(market)
    depth = expect(*call("GET", f"/api/v1/depth?symbol={symbol}&limit=1"), 200, "depth")
    if depth["asks"] and Decimal(depth["asks"][0][0]) <= price:
        raise RoundTripError(
            f"{symbol}: the best ask {depth['asks'][0][0]} would take a buy at {price}"
        )
    step(f"{symbol}: a buy of {quantity} at {price}")

    admin, _ = sign_in(
        os.environ["CRYPTEX_TEST_ADMIN_EMAIL"], os.environ["CRYPTEX_TEST_ADMIN_PASSWORD"]
    )
    run = f"helm-test-{uuid.uuid4().hex[:12]}"
    email, password = f"{run}@cryptex.test", uuid.uuid4().hex
    expect(*call("POST", "/api/v1/signup", {"email": email, "password": password}), 201, "sign-up")
    token, account = sign_in(email, password)
    step(f"signed up account {account}")

    fee_bps = max(market["makerFeeBps"], market["takerFeeBps"])
    needed = price * quantity * (1 + Decimal(fee_bps) / 10_000)
    amount = format(ceil_to(needed * 2, Decimal(1)), "f")
    deposit = {"account": account, "asset": quote, "amount": amount, "reference": run}
    expect(*call("POST", "/api/v1/admin/deposits", deposit, admin), 200, "deposit")
    step(f"deposited {amount} {quote}")

    order = {
        "side": "buy", "type": "limit", "market": symbol, "price": format(price, "f"),
        "quantity": format(quantity, "f"), "timeInForce": "GTC", "postOnly": True,
    }  # fmt: skip
    placed = expect(*call("POST", "/api/v1/order", order, token), 200, "place")
    if placed["status"] != "NEW":
        raise RoundTripError(f"the order should rest as NEW: {placed}")
    order_id = placed["orderId"]
    step(f"placed order {order_id}: {placed['status']}")

    cancelled = expect(*call("DELETE", f"/api/v1/order/{order_id}", None, token), 200, "cancel")
    deadline = time.monotonic() + 30
    while cancelled["status"] != "CANCELED":  # a late engine reply: the order catches up
        if time.monotonic() > deadline:
            raise RoundTripError(f"order {order_id} not CANCELED: {cancelled}")
        time.sleep(0.5)
        cancelled = expect(*call("GET", f"/api/v1/order/{order_id}", None, token), 200, "order")
    step(f"cancelled order {order_id}")

    balances = expect(*call("GET", "/api/v1/balances", None, token), 200, "balances")
    held = {b["asset"]: b for b in balances}.get(quote)
    if held is None or Decimal(held["locked"]) != 0 or Decimal(held["free"]) != Decimal(amount):
        raise RoundTripError(f"the lock was not released in full: {balances}")
    step(f"{quote} free {held['free']}, locked {held['locked']}: the lock went back")


if __name__ == "__main__":
    try:
        main()
    except RoundTripError as failure:
        print(f"FAILED: {failure}", file=sys.stderr, flush=True)
        sys.exit(1)
    print("order round trip: OK", flush=True)
