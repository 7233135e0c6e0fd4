"""Every order route: place, look up, cancel, open orders, history, quote, market orders,
idempotent client order ids; and an account never reaches another's orders."""

from __future__ import annotations

import time
import uuid

from cryptex.wire import Side
from tests.integration.api.conftest import Stack, Trader
from tests.integration.engine.harness import Exchange

SELL_2_AT_150 = {"side": "sell", "price": "150", "quantity": "2", "market": "SOL_USDC"}


def place(trader: Trader, **body: object) -> dict[str, object]:
    answer = trader.http.post("/api/v1/order", json={"market": "SOL_USDC", **body})
    assert answer.status_code == 200, answer.text
    result: dict[str, object] = answer.json()
    return result


def test_an_order_is_found_by_its_owner_only(traders: tuple[Trader, Trader]) -> None:
    a, b = traders
    order = place(a, side="buy", price="100", quantity="1")
    mine = a.http.get(f"/api/v1/order/{order['orderId']}")
    theirs = b.http.get(f"/api/v1/order/{order['orderId']}")
    cancel_theirs = b.http.delete(f"/api/v1/order/{order['orderId']}")
    assert mine.json()["status"] == "NEW"
    assert (theirs.status_code, theirs.json()["code"]) == (404, -2013)
    assert (cancel_theirs.status_code, cancel_theirs.json()["code"]) == (404, -2013)
    assert a.http.get(f"/api/v1/order/{order['orderId']}").json()["status"] == "NEW"


def test_a_cancel_releases_the_funds_and_cannot_repeat(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    order = place(a, side="buy", price="100", quantity="1")
    assert [b["locked"] for b in a.http.get("/api/v1/balances").json()] == ["100.200000"]
    cancelled = a.http.delete(f"/api/v1/order/{order['orderId']}")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "CANCELED")
    assert a.http.get("/api/v1/balances").json() == [
        {"asset": "USDC", "free": "10000.000000", "locked": "0.000000"}
    ]
    again = a.http.delete(f"/api/v1/order/{order['orderId']}")
    assert (again.status_code, again.json()) == (
        400, {"code": -2011, "msg": f"order {order['orderId']} is CANCELED"},
    )  # fmt: skip


def test_open_orders_by_market(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    first = place(a, side="buy", price="100", quantity="1")
    second = place(a, side="buy", price="101", quantity="1")
    listed = a.http.get("/api/v1/orders/open", params={"market": "sol/usdc"}).json()
    assert [o["orderId"] for o in listed] == [first["orderId"], second["orderId"]]
    assert a.http.get("/api/v1/orders/open", params={"market": "ETH_USDC"}).json() == []
    assert a.http.get("/api/v1/orders/open", params={"market": "DOGE_USDC"}).status_code == 400


def test_cancelling_every_open_order_of_a_market_leaves_others_alone(
    traders: tuple[Trader, Trader],
) -> None:
    a, b = traders
    mine = [place(a, side="buy", price=price, quantity="1")["orderId"] for price in ("99", "100")]
    elsewhere = a.http.post(
        "/api/v1/order",
        json={"side": "buy", "price": "100", "quantity": "0.1", "market": "BTC_USDC"},
    ).json()["orderId"]  # no engine runs BTC_USDC here: it stays open
    theirs = place(b, side="sell", price="200", quantity="1")["orderId"]

    answer = a.http.delete("/api/v1/orders/open", params={"market": "sol/usdc"})
    assert answer.status_code == 200, answer.text
    assert [(o["orderId"], o["status"]) for o in answer.json()] == [
        (order_id, "CANCELED") for order_id in mine
    ]
    assert [o["orderId"] for o in a.http.get("/api/v1/orders/open").json()] == [elsewhere]
    assert [o["orderId"] for o in b.http.get("/api/v1/orders/open").json()] == [theirs]
    usdc = next(x for x in a.http.get("/api/v1/balances").json() if x["asset"] == "USDC")
    assert usdc["locked"] == "10.020000"  # the BTC_USDC order's lock only (fee included)

    assert a.http.delete("/api/v1/orders/open", params={"market": "SOL_USDC"}).json() == []
    unknown = a.http.delete("/api/v1/orders/open", params={"market": "DOGE_USDC"})
    assert (unknown.status_code, unknown.json()["code"]) == (400, -1121)


def test_a_cancel_all_waits_for_a_slow_engine_once_not_once_per_order(
    traders: tuple[Trader, Trader], stack: Stack
) -> None:
    a, _ = traders
    btc = Exchange(stack.redis.client(), stack.markets["BTC_USDC"])  # no engine runs it here
    placed = [btc.placed(a.account, Side.BUY, "100", "0.1") for _ in range(20)]
    started = time.monotonic()
    answer = a.http.delete("/api/v1/orders/open", params={"market": "BTC_USDC"})
    waited = time.monotonic() - started
    # Every cancel is queued and every order shows as it is: its engine has not answered.
    assert [(o["orderId"], o["status"]) for o in answer.json()] == [(i, "NEW") for i in placed]
    # The answers were awaited together: one reply timeout (2 s), not one per batch of cancels.
    assert 2 <= waited < 3.5


def test_cancelling_every_open_order(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    first = place(a, side="buy", price="100", quantity="1")
    second = place(a, side="buy", price="101", quantity="2")
    answer = a.http.delete("/api/v1/orders/open").json()
    assert [(o["orderId"], o["status"], o["quantity"]) for o in answer] == [
        (first["orderId"], "CANCELED", "1.000"), (second["orderId"], "CANCELED", "2.000"),
    ]  # fmt: skip
    assert a.http.get("/api/v1/orders/open").json() == []
    assert a.http.get("/api/v1/balances").json() == [
        {"asset": "USDC", "free": "10000.000000", "locked": "0.000000"}
    ]


def test_a_client_order_id_places_once(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    cid = f"mine-{uuid.uuid4().hex[:8]}"
    first = place(a, side="buy", price="100", quantity="1", clientOrderId=cid)
    again = place(a, side="buy", price="100", quantity="1", clientOrderId=cid)
    assert (again["orderId"], again["clientOrderId"]) == (first["orderId"], cid)
    assert len(a.http.get("/api/v1/orders/open").json()) == 1


def test_insufficient_balance_is_refused(traders: tuple[Trader, Trader]) -> None:
    a, _ = traders
    answer = a.http.post(
        "/api/v1/order",
        json={"side": "buy", "price": "100", "quantity": "1000", "market": "SOL_USDC"},
    )
    assert (answer.status_code, answer.json()) == (
        400, {"code": -2010, "msg": "insufficient USDC balance"},
    )  # fmt: skip


def test_a_market_buy_takes_the_asks_and_returns_what_it_did_not_use(
    traders: tuple[Trader, Trader],
) -> None:
    a, b = traders
    place(b, **SELL_2_AT_150)
    order = place(a, side="buy", type="market", quantity="1")
    assert (order["status"], order["executedQty"], order["type"]) == ("FILLED", "1.000", "MARKET")
    usdc = next(x for x in a.http.get("/api/v1/balances").json() if x["asset"] == "USDC")
    assert usdc == {"asset": "USDC", "free": "9849.700000", "locked": "0.000000"}


def test_a_market_order_on_an_empty_side_is_refused(
    traders: tuple[Trader, Trader], stack: Stack
) -> None:
    _, b = traders
    answer = b.http.post(
        "/api/v1/order",
        json={"side": "sell", "type": "market", "quantity": "1", "market": "BTC_USDC"},
    )
    assert (answer.status_code, answer.json()["code"]) == (400, -2010)


def test_a_quote_walks_the_published_depth(traders: tuple[Trader, Trader], stack: Stack) -> None:
    a, b = traders
    place(b, side="sell", price="150", quantity="1")
    place(b, side="sell", price="151", quantity="1")
    answer = a.http.post(
        "/api/v1/order/quote", json={"kind": "buy", "quantity": "1.5", "market": "sol/usdc"}
    )
    quote = answer.json()
    assert (quote["averagePrice"], quote["total"], quote["fullyFillable"]) == (
        "150.3333", "225.500000", True,
    )  # fmt: skip
    too_much = a.http.post(
        "/api/v1/order/quote", json={"kind": "buy", "quantity": "500", "market": "sol/usdc"}
    )
    assert too_much.json()["fullyFillable"] is False


def test_history_lists_what_the_db_processor_recorded(
    traders: tuple[Trader, Trader], stack: Stack
) -> None:
    import asyncio

    import asyncpg

    a, _ = traders

    async def record() -> None:
        conn = await asyncpg.connect(stack.postgres.url)
        await conn.execute(
            """INSERT INTO orders (order_id, market, account, side, order_type, time_in_force,
                   price, quantity, executed, executed_quote, status, created_at, updated_at)
               VALUES ($1, 'SOL_USDC', $2, 'BUY', 'LIMIT', 'GTC', 150.25, 2.000, 2.000,
                   300.500000, 'FILLED', now(), now())""",
            900_000_000 + a.account, a.account,
        )  # fmt: skip
        await conn.close()

    asyncio.run(record())
    [row] = a.http.get("/api/v1/orders").json()
    assert (row["orderId"], row["price"], row["status"], row["cumulativeQuoteQty"]) == (
        900_000_000 + a.account, "150.25", "FILLED", "300.500000",
    )  # fmt: skip


def test_without_an_engine_reply_the_order_is_answered_as_it_stands(
    traders: tuple[Trader, Trader],
) -> None:
    """No engine runs ETH_USDC here: the API waits its reply timeout (2 s), then answers."""
    a, _ = traders
    started = time.monotonic()
    order = place(a, side="buy", price="2000", quantity="0.01", market="ETH_USDC")
    waited = time.monotonic() - started
    assert (order["status"], order["executedQty"]) == ("NEW", "0.0000")
    assert 2 <= waited < 6
    assert a.http.get(f"/api/v1/order/{order['orderId']}").json()["status"] == "NEW"


def test_the_answer_to_a_place_is_the_order_as_it_is_then_stored(
    traders: tuple[Trader, Trader],
) -> None:
    """The place answer is built from the engine's reply, not read back: it must agree with
    what a lookup finds, whatever the outcome."""
    a, b = traders
    place(b, **SELL_2_AT_150)
    answers = [
        place(a, side="buy", price="140", quantity="1"),  # rests: NEW
        place(a, side="buy", price="150", quantity="0.5"),  # FILLED
        place(a, side="buy", price="151", quantity="2", clientOrderId="part"),  # PARTIALLY_FILLED
        place(b, side="sell", price="130", quantity="0.2", timeInForce="IOC"),  # fills 0.2 at 151
        place(b, side="sell", price="160", quantity="1", timeInForce="IOC"),  # EXPIRED
        place(b, side="sell", price="155", quantity="1", postOnly=True),  # rests
        place(a, side="buy", price="155", quantity="1", postOnly=True),  # would take: refused
    ]
    statuses = [answer["status"] for answer in answers]
    assert statuses == [
        "NEW", "FILLED", "PARTIALLY_FILLED", "FILLED", "EXPIRED", "NEW", "REJECTED",
    ]  # fmt: skip
    for answer in answers:
        trader = a if answer["side"] == "BUY" else b
        stored = trader.http.get(f"/api/v1/order/{answer['orderId']}").json()
        if answer["status"] in ("NEW", "PARTIALLY_FILLED"):
            # Later orders may have traded with it since: only what it was then must agree.
            stored = {**stored, "status": answer["status"], "executedQty": answer["executedQty"]}
            stored["cumulativeQuoteQty"] = answer["cumulativeQuoteQty"]
            stored["updated"] = answer["updated"]
        assert {**stored, "fills": answer["fills"]} == answer
