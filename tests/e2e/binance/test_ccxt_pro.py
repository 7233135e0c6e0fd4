"""ccxt.pro's `binance` class, unmodified, streams from Cryptex: trades, candles, the ticker and
the order book over the market streams (`/ws`), and the account's orders and balances over the
WebSocket API's signed user data subscription (`/ws-api/v3`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro
import pytest

from tests.e2e.binance.conftest import create_api_key
from tests.e2e.harness import StackRun, Trader, sign_up

SYMBOL = "SOL/USDC"
T = TypeVar("T")


async def _soon(task: Awaitable[T], timeout: float = 15) -> T:
    return await asyncio.wait_for(task, timeout)


async def _watching(*watches: Awaitable[Any]) -> list[asyncio.Task[Any]]:
    """The watches started, and given the time to subscribe before anything happens."""
    tasks = [asyncio.ensure_future(watch) for watch in watches]
    await asyncio.sleep(1.0)
    for task in tasks:
        assert not task.done(), task.exception() if task.done() else None
    return tasks


async def test_watch_trades_ohlcv_and_ticker(
    stack: StackRun, pros: Callable[..., ccxt.pro.binance]
) -> None:
    pro = pros()
    await pro.load_markets()
    maker = await sign_up(stack, {"SOL": "10"})
    taker = await sign_up(stack, {"USDC": "1000"})
    await maker.place("sell", "150.50", "1", "SOL_USDC")
    await maker.place("sell", "151.00", "2", "SOL_USDC")
    # watch_ticker reads @miniTicker unless asked for the full @ticker (as on Binance)
    full = pros()
    await full.load_markets()
    trades, candles, mini, ticker, bids_asks = await _watching(
        pro.watch_trades(SYMBOL), pro.watch_ohlcv(SYMBOL, "1m"), pro.watch_ticker(SYMBOL),
        full.watch_ticker(SYMBOL, {"name": "ticker"}), full.watch_bids_asks([SYMBOL]),
    )  # fmt: skip
    response = await taker.http.post("/api/v1/order", json={
        "side": "buy", "type": "market", "quantity": "0.5", "market": "SOL_USDC"})  # fmt: skip
    assert response.status_code == 200, response.text
    native_trade = (await taker.get("/api/v1/trades", symbol="SOL_USDC"))[0]

    [trade] = await _soon(trades)
    assert (trade["symbol"], trade["price"], trade["amount"], trade["side"]) == (
        SYMBOL, 150.5, 0.5, "buy",
    )  # fmt: skip
    assert trade["id"] == str(native_trade["id"])
    assert trade["cost"] == 75.25

    ohlcv = await _soon(candles)
    assert ohlcv[-1][1:] == [150.5, 150.5, 150.5, 150.5, 0.5]
    assert ohlcv[-1][0] % 60_000 == 0

    rest = await pro.fetch_ticker(SYMBOL)
    for watched in (await _soon(mini), await _soon(ticker)):
        assert (watched["symbol"], watched["last"]) == (SYMBOL, 150.5)
        assert (watched["high"], watched["low"], watched["baseVolume"]) == (
            rest["high"], rest["low"], rest["baseVolume"],
        )  # fmt: skip
        assert watched["quoteVolume"] == rest["quoteVolume"]
    assert watched["info"]["e"] == "24hrTicker"
    assert (watched["ask"], watched["askVolume"], watched["percentage"]) == (
        150.5, 0.5, rest["percentage"],
    )  # fmt: skip
    best = (await _soon(bids_asks))[SYMBOL]
    assert (best["ask"], best["askVolume"]) == (150.5, 0.5)
    await maker.cancel_all()
    for trader in (maker, taker):
        await trader.http.aclose()


async def _engine_book(trader: Trader) -> tuple[list[list[float]], list[list[float]]]:
    depth = await trader.get("/api/v1/depth", symbol="SOL_USDC", limit=100)
    return (
        [[float(p), float(q)] for p, q in depth["bids"]],
        [[float(p), float(q)] for p, q in depth["asks"]],
    )


async def test_watch_order_book_follows_a_random_flow(
    stack: StackRun, pros: Callable[..., ccxt.pro.binance]
) -> None:
    """ccxt syncs its book from REST /api/v3/depth and the @depth@100ms diffs by their update
    ids (it raises on any gap); after orders, fills and cancels, its book is the engine's."""
    pro = pros()
    await pro.load_markets()
    alice = await sign_up(stack, {"SOL": "200", "USDC": "40000"})
    bob = await sign_up(stack, {"SOL": "200", "USDC": "40000"})
    await alice.cancel_all()
    book = await _soon(pro.watch_order_book(SYMBOL))
    assert book["nonce"] is not None
    rng = random.Random(15)
    resting: list[tuple[Trader, int]] = []
    for _ in range(120):
        trader = rng.choice((alice, bob))
        if resting and rng.random() < 0.3:
            owner, order_id = resting.pop(rng.randrange(len(resting)))
            await owner.http.delete(f"/api/v1/order/{order_id}")  # may have filled meanwhile
            continue
        side = rng.choice(("buy", "sell"))
        # around 100: a buy from 95 to 101, a sell from 99 to 105; some cross
        cents = rng.randrange(9_500, 10_100) if side == "buy" else rng.randrange(9_900, 10_500)
        price = f"{cents // 100}.{cents % 100:02d}"
        quantity = f"{rng.randrange(10, 300) / 100:.2f}"
        placed = await trader.place(side, price, quantity, "SOL_USDC")
        if placed["status"] in ("NEW", "PARTIALLY_FILLED"):
            resting.append((trader, placed["orderId"]))

    # ccxt keeps applying diffs as they come (a gap would have dropped its book: ChecksumError)
    for _ in range(50):
        expected = await _engine_book(alice)
        book = pro.orderbooks[SYMBOL]
        local = ([list(level) for level in book["bids"]], [list(level) for level in book["asks"]])
        if local == expected:
            break
        await asyncio.sleep(0.2)
    assert local == expected
    assert expected[0]  # a book with both sides, not two empty ones
    assert expected[1]
    rest = await pro.fetch_order_book(SYMBOL, 1000)
    assert book["nonce"] == rest["nonce"]
    for trader in (alice, bob):
        await trader.cancel_all()
        await trader.http.aclose()


async def test_watch_orders_and_balance(
    stack: StackRun, pros: Callable[..., ccxt.pro.binance]
) -> None:
    """`userDataStream.subscribe.signature` on /ws-api/v3, then executionReport and
    outboundAccountPosition: ccxt.pro's orders and balance."""
    alice = await sign_up(stack, {"USDC": "2000"})
    bob = await sign_up(stack, {"SOL": "20"})
    key = await create_api_key(alice)
    pro = pros(key["apiKey"], key["secret"])
    await pro.load_markets()

    orders, balance = await _watching(pro.watch_orders(SYMBOL), pro.watch_balance())
    placed = await pro.create_order(SYMBOL, "limit", "buy", 2, 120, {"clientOrderId": "a-1"})
    [new] = await _soon(orders)
    assert (new["id"], new["clientOrderId"], new["status"], new["side"]) == (
        placed["id"], "a-1", "open", "buy",
    )  # fmt: skip
    assert (new["type"], new["price"], new["amount"], new["filled"]) == ("limit", 120, 2, 0)
    watched = await _soon(balance)
    native = await alice.balances()
    assert Decimal(str(watched["USDC"]["free"])) == native["USDC"][0]
    assert Decimal(str(watched["USDC"]["used"])) == native["USDC"][1] > 0

    # Bob sells into it: a TRADE report with its fill and fee, then the balances after it
    orders = asyncio.ensure_future(pro.watch_orders(SYMBOL))
    balance = asyncio.ensure_future(pro.watch_balance())
    await bob.place("sell", "120.00", "0.5", "SOL_USDC")
    [filled] = await _soon(orders)
    assert (filled["id"], filled["status"], filled["filled"], filled["cost"]) == (
        placed["id"], "open", 0.5, 60,
    )  # fmt: skip
    assert filled["info"]["x"] == "TRADE"
    assert filled["info"]["m"] is True  # it rested: the maker
    assert filled["fee"] == {"cost": 0.06, "currency": "USDC"}  # 10 bps maker fee of 60
    watched = await _soon(balance)
    native = await alice.balances()
    assert Decimal(str(watched["SOL"]["free"])) == native["SOL"][0] == Decimal("0.5")
    assert Decimal(str(watched["USDC"]["free"])) == native["USDC"][0]

    orders = asyncio.ensure_future(pro.watch_orders(SYMBOL))
    await pro.cancel_order(placed["id"], SYMBOL)
    [cancelled] = await _soon(orders)
    assert (cancelled["id"], cancelled["status"], cancelled["filled"]) == (
        placed["id"], "canceled", 0.5,
    )  # fmt: skip
    for trader in (alice, bob):
        await trader.http.aclose()


async def test_a_bad_signature_is_an_authentication_error(
    stack: StackRun, pros: Callable[..., ccxt.pro.binance]
) -> None:
    dave = await sign_up(stack, {"USDC": "10"})
    key = await create_api_key(dave, ("read",))
    wrong = pros(key["apiKey"], "0" * 64)
    await wrong.load_markets()
    # ccxt 4.5.90 raises AuthenticationError for the refusal, then, cleaning up, a KeyError
    # from it (it forgets the subscription twice): the refusal is the KeyError's context.
    for client, words in ((wrong, "-1022"), (pros("f" * 64, key["secret"]), "-2015")):
        await client.load_markets()
        with pytest.raises((ccxt.pro.AuthenticationError, KeyError)) as refused:
            await _soon(client.watch_orders())
        error = refused.value
        cause = error if isinstance(error, ccxt.pro.AuthenticationError) else error.__context__
        assert isinstance(cause, ccxt.pro.AuthenticationError), repr(error)
        assert words in str(cause)
    # a read key follows its account: user data needs no trade permission
    reader = pros(key["apiKey"], key["secret"])
    await reader.load_markets()
    watch = asyncio.ensure_future(reader.watch_balance())
    await asyncio.sleep(1.0)
    await dave.place("buy", "100.00", "0.05", "SOL_USDC")
    assert (await _soon(watch))["USDC"]["used"] > 0
    await dave.cancel_all()
    await dave.http.aclose()
