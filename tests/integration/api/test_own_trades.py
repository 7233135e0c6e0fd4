"""`GET /api/v1/myTrades`: the caller's trades as the DB processor recorded them (rows written
here as it writes them), each from the caller's side, newest first, filtered and paged."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime

import asyncpg
import pytest

from tests.integration.api.conftest import Stack, Trader, sign_up

T0 = 1_790_000_000_123  # epoch ms (.123 s has no exact binary fraction)


def _record(stack: Stack, rows: list[tuple[object, ...]]) -> None:
    async def insert() -> None:
        conn = await asyncpg.connect(stack.postgres.url)
        await conn.executemany(
            """INSERT INTO trades (market, trade_id, ts, price, quantity, quote_quantity,
                   taker_side, maker_order_id, taker_order_id, maker_account, taker_account)
               VALUES ($1, $2, $3, $4::numeric, $5::numeric, $4::numeric * $5::numeric,
                   $6, $7, $8, $9, $10)""",
            rows,
        )
        await conn.close()

    asyncio.run(insert())


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


@pytest.fixture
def history(stack: Stack) -> Iterator[tuple[Trader, Trader]]:
    """A traded as maker, taker and against itself, in two markets; B and C traded without A.
    Trade ids are the account's (trade ids are per market; accounts are unique per run)."""
    a, b, c = sign_up(stack), sign_up(stack), sign_up(stack)
    base = a.account * 10
    _record(stack, [
        # market, trade id, time, price, qty, taker side, maker order, taker order, maker, taker
        ("SOL_USDC", base + 1, _at(T0), "150.25", "2.000", "SELL", 11, 21, a.account, b.account),
        ("SOL_USDC", base + 2, _at(T0 + 1_000), "151", "0.5", "BUY", 22, 12, b.account, a.account),
        ("ETH_USDC", base + 1, _at(T0 + 2_000), "2000.5", "0.0100", "BUY", 13, 14,
         a.account, a.account),
        ("SOL_USDC", base + 3, _at(T0 + 3_000), "152", "1", "BUY", 31, 32, b.account, c.account),
    ])  # fmt: skip
    c.http.close()
    yield a, b
    a.http.close()
    b.http.close()


def _brief(trades: list[dict[str, object]]) -> list[tuple[object, ...]]:
    return [(t["market"], t["orderId"], t["side"], t["maker"]) for t in trades]


def test_every_trade_of_yours_newest_first_from_your_side(history: tuple[Trader, Trader]) -> None:
    a, _ = history
    answer = a.http.get("/api/v1/myTrades")
    assert answer.status_code == 200, answer.text
    trades = answer.json()
    assert _brief(trades) == [
        ("ETH_USDC", 14, "BUY", False), ("ETH_USDC", 13, "SELL", True),  # the self-trade
        ("SOL_USDC", 12, "BUY", False), ("SOL_USDC", 11, "BUY", True),
    ]  # fmt: skip
    assert trades[-1] == {
        "market": "SOL_USDC", "tradeId": a.account * 10 + 1, "orderId": 11, "side": "BUY",
        "price": "150.25", "qty": "2.000", "quoteQty": "300.500000",
        "fee": "0.300500", "feeAsset": "USDC", "maker": True, "time": T0,
    }  # fmt: skip
    taker = trades[2]
    assert (taker["price"], taker["qty"], taker["fee"]) == ("151.00", "0.500", "0.151000")


def test_one_market_a_window_and_a_limit(history: tuple[Trader, Trader]) -> None:
    a, _ = history
    sol = a.http.get("/api/v1/myTrades", params={"market": "sol/usdc"}).json()
    assert _brief(sol) == [("SOL_USDC", 12, "BUY", False), ("SOL_USDC", 11, "BUY", True)]
    window = a.http.get("/api/v1/myTrades", params={"startTime": T0, "endTime": T0 + 1_000})
    assert [t["orderId"] for t in window.json()] == [12, 11]
    at = a.http.get("/api/v1/myTrades", params={"startTime": T0 + 2_000, "endTime": T0 + 2_000})
    assert [t["orderId"] for t in at.json()] == [14, 13]  # both bounds hold their millisecond
    assert [t["orderId"] for t in a.http.get("/api/v1/myTrades?limit=1").json()] == [14]


def test_paging_back_by_end_time_reaches_every_trade(history: tuple[Trader, Trader]) -> None:
    a, _ = history
    seen: dict[tuple[str, int, int], dict[str, object]] = {}
    query: dict[str, int] = {"limit": 3}
    for _ in range(6):
        page = a.http.get("/api/v1/myTrades", params=query).json()
        fresh = [t for t in page if (t["market"], t["tradeId"], t["orderId"]) not in seen]
        if not fresh:
            break
        seen.update({(t["market"], t["tradeId"], t["orderId"]): t for t in fresh})
        query["endTime"] = page[-1]["time"]
    assert sorted(order for _, _, order in seen) == [11, 12, 13, 14]


def test_nobody_sees_another_accounts_trades(stack: Stack, history: tuple[Trader, Trader]) -> None:
    _, b = history
    assert _brief(b.http.get("/api/v1/myTrades").json()) == [
        ("SOL_USDC", 31, "SELL", True), ("SOL_USDC", 22, "SELL", True),
        ("SOL_USDC", 21, "SELL", False),
    ]  # fmt: skip
    stranger = sign_up(stack)
    assert stranger.http.get("/api/v1/myTrades").json() == []
    stranger.http.close()


@pytest.mark.parametrize(
    ("query", "code", "words"),
    [("limit=0", -1100, "limit"), ("limit=1001", -1100, "limit"),
     ("startTime=5&endTime=4", -1100, "startTime: after endTime"),
     ("startTime=soon", -1100, "startTime"), ("market=DOGE_USDC", -1121, "unknown market"),
     # past the last instant PostgreSQL and Python hold: refused, not an overflow in the query
     ("startTime=253402300800000", -1100, "startTime"),
     ("endTime=99999999999999999999", -1100, "endTime")],
)  # fmt: skip
def test_bad_queries_are_refused_clearly(
    history: tuple[Trader, Trader], query: str, code: int, words: str
) -> None:
    a, _ = history
    answer = a.http.get(f"/api/v1/myTrades?{query}")
    assert answer.status_code == 400, answer.text
    assert answer.json()["code"] == code
    assert words in answer.json()["msg"]
