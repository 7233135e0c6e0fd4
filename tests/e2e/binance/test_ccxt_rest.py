"""ccxt's `binance` class, unmodified, trades on Cryptex through `/api/v3`: it loads the
markets, reads market data, places and cancels every order type, reads its orders, trades and
balances; and each refusal reaches it as the exception class it raises against Binance."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import ccxt.async_support as ccxt
import pytest

from tests.e2e.binance.conftest import create_api_key
from tests.e2e.harness import StackRun, sign_up

SYMBOL = "SOL/USDC"  # SOL_USDC on Cryptex, SOLUSDC on the wire


async def _eventually(probe: Callable[[], Any], timeout: float = 10) -> Any:
    """The probe's first truthy answer (the DB processor records trades a moment later)."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        found = await probe()
        if found or asyncio.get_running_loop().time() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_public_market_data(stack: StackRun, exchanges: Callable[..., ccxt.binance]) -> None:
    exchange = exchanges()
    markets = await exchange.load_markets()
    assert {"SOL/USDC", "ETH/USDC", "BTC/USDC"} <= set(markets)
    sol = markets[SYMBOL]
    assert (sol["id"], sol["base"], sol["quote"], sol["spot"], sol["active"]) == (
        "SOLUSDC", "SOL", "USDC", True, True,
    )  # fmt: skip
    assert sol["precision"]["price"] == 0.01
    assert sol["precision"]["amount"] == 0.001
    assert sol["limits"]["amount"]["min"] == 0.01
    assert sol["limits"]["cost"]["min"] == 5

    maker = await sign_up(stack, {"SOL": "10"})
    taker = await sign_up(stack, {"USDC": "1000"})
    await maker.place("sell", "151.00", "2", "SOL_USDC")
    await maker.place("sell", "150.50", "1", "SOL_USDC")
    await taker.http.post("/api/v1/order", json={
        "side": "buy", "type": "market", "quantity": "0.5", "market": "SOL_USDC"})  # fmt: skip

    book = await exchange.fetch_order_book(SYMBOL)
    native = await taker.get("/api/v1/depth", symbol="SOL_USDC")
    assert book["nonce"] == native["lastUpdateId"]
    assert book["asks"] == [[float(p), float(q)] for p, q in native["asks"]]
    assert book["asks"][0] == [150.5, 0.5]

    trades = await exchange.fetch_trades(SYMBOL)
    assert trades[-1]["price"] == 150.5
    assert trades[-1]["amount"] == 0.5
    assert trades[-1]["side"] == "buy"  # the taker bought

    ticker = await exchange.fetch_ticker(SYMBOL)
    assert (ticker["last"], ticker["ask"], ticker["askVolume"]) == (150.5, 150.5, 0.5)
    tickers = await exchange.fetch_tickers()
    assert tickers[SYMBOL]["last"] == 150.5

    candles = await _eventually(lambda: exchange.fetch_ohlcv(SYMBOL, "1m"))
    assert candles[-1][1:] == [150.5, 150.5, 150.5, 150.5, 0.5]
    # Binance's 12 fields, the taker-buy volumes among them (the taker bought)
    [kline] = await exchange.publicGetKlines({"symbol": "SOLUSDC", "interval": "1m"})
    assert kline[1:6] + kline[7:] == [
        "150.50", "150.50", "150.50", "150.50", "0.500", "75.250000", 1, "0.500", "75.250000", "0",
    ]  # fmt: skip
    assert kline[6] == kline[0] + 59_999
    await maker.cancel_all()
    for trader in (maker, taker):
        await trader.http.aclose()


async def test_trading(stack: StackRun, exchanges: Callable[..., ccxt.binance]) -> None:
    alice = await sign_up(stack, {"USDC": "5000"})
    bob = await sign_up(stack, {"SOL": "40"})
    alice_key, bob_key = await create_api_key(alice), await create_api_key(bob)
    a = exchanges(alice_key["apiKey"], alice_key["secret"])
    b = exchanges(bob_key["apiKey"], bob_key["secret"])
    await a.load_markets()
    await b.load_markets()

    balance = await a.fetch_balance()
    assert (balance["USDC"]["free"], balance["USDC"]["used"]) == (5000, 0)

    bid = await a.create_order(SYMBOL, "limit", "buy", 2, 140, {"clientOrderId": "alice-1"})
    assert (bid["status"], bid["clientOrderId"], bid["amount"]) == ("open", "alice-1", 2)
    assert (await a.fetch_order(bid["id"], SYMBOL))["status"] == "open"
    assert [o["id"] for o in await a.fetch_open_orders(SYMBOL)] == [bid["id"]]
    balance = await a.fetch_balance()
    assert balance["USDC"]["used"] == 280.56  # 2 x 140 and the largest fee, 20 bps

    # Bob sells 0.5 at market: fills at Alice's bid; FULL's fills carry the fee
    sold = await b.create_order(SYMBOL, "market", "sell", 0.5)
    assert (sold["status"], sold["filled"], sold["average"]) == ("closed", 0.5, 140)
    assert sold["fee"] == {"cost": 0.14, "currency": "USDC"}  # 20 bps of 70
    assert (await a.fetch_order(bid["id"], SYMBOL))["filled"] == 0.5

    # post-only that would take, IOC and FOK that cannot fill
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await b.create_order(SYMBOL, "limit", "sell", 1, 139, {"postOnly": True})
    ask = await b.create_order(SYMBOL, "limit", "sell", 3, 145, {"postOnly": True})
    assert ask["status"] == "open"
    ioc = await a.create_order(SYMBOL, "limit", "buy", 5, 145, {"timeInForce": "IOC"})
    assert (ioc["status"], ioc["filled"]) == ("expired", 3)
    fok = await a.create_order(SYMBOL, "limit", "buy", 5, 145, {"timeInForce": "FOK"})
    assert (fok["status"], fok["filled"]) == ("expired", 0)

    # a market buy by cost: 100 USDC of Bob's asks at 146 buys 0.684 SOL (whole lots)
    await b.create_order(SYMBOL, "limit", "sell", 2, 146)
    bought = await a.create_market_buy_order_with_cost(SYMBOL, 100)
    assert (bought["status"], bought["filled"], bought["cost"]) == ("closed", 0.684, 99.864)
    assert bought["info"]["origQuoteOrderQty"] == "100.000000"

    cancelled = await a.cancel_order(bid["id"], SYMBOL)
    assert cancelled["status"] == "canceled"
    await b.create_order(SYMBOL, "limit", "sell", 1, 160)
    await b.create_order(SYMBOL, "limit", "sell", 1, 161)
    assert len(await b.fetch_open_orders(SYMBOL)) == 3
    assert len(await b.cancel_all_orders(SYMBOL)) == 3
    assert await b.fetch_open_orders(SYMBOL) == []
    # nothing open: Binance answers -2011 "Unknown order sent.", which ccxt raises as such
    with pytest.raises(ccxt.OrderNotFound):
        await b.cancel_all_orders(SYMBOL)

    mine = await _eventually(
        lambda: _when(a.fetch_my_trades(SYMBOL), lambda found: len(found) == 3)
    )
    assert [(t["price"], t["amount"], t["side"], t["takerOrMaker"]) for t in mine] == [
        (140, 0.5, "buy", "maker"), (145, 3, "buy", "taker"), (146, 0.684, "buy", "taker"),
    ]  # fmt: skip
    totals = await alice.totals()
    balance = await a.fetch_balance()
    assert Decimal(str(balance["SOL"]["total"])) == totals["SOL"] == Decimal("4.184")
    assert Decimal(str(balance["USDC"]["total"])) == totals["USDC"]
    for trader in (alice, bob):
        await trader.http.aclose()


async def _when(call: Any, ok: Callable[[Any], bool]) -> Any:
    found = await call
    return found if ok(found) else None


async def test_refusals_are_ccxts_exceptions(
    stack: StackRun, exchanges: Callable[..., ccxt.binance]
) -> None:
    carol = await sign_up(stack, {"USDC": "100"})
    key = await create_api_key(carol)
    c = exchanges(key["apiKey"], key["secret"])
    await c.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):
        await c.create_order(SYMBOL, "limit", "buy", 10, 100)
    with pytest.raises(ccxt.InvalidOrder, match="LOT_SIZE"):
        await c.private_post_order(
            {
                "symbol": "SOLUSDC",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.0015",
                "price": "10",
            }
        )
    with pytest.raises(ccxt.InvalidOrder, match="PRICE_FILTER"):
        await c.private_post_order(
            {
                "symbol": "SOLUSDC",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "1",
                "price": "10.001",
            }
        )
    with pytest.raises(ccxt.BadSymbol):
        await c.public_get_depth({"symbol": "DOGEUSDC"})
    with pytest.raises(ccxt.OrderNotFound):
        await c.fetch_order("987654321", SYMBOL)
    with pytest.raises(ccxt.OrderNotFound):
        await c.cancel_order("987654321", SYMBOL)

    wrong = exchanges(key["apiKey"], "0" * 64)
    with pytest.raises(ccxt.AuthenticationError):
        await wrong.fetch_balance()
    unknown = exchanges("f" * 64, key["secret"])
    with pytest.raises(ccxt.AuthenticationError):
        await unknown.fetch_balance()
    late = exchanges(key["apiKey"], key["secret"])
    late.options["timeDifference"] = 10_000  # its clock 10 s behind: outside the recvWindow
    with pytest.raises(ccxt.InvalidNonce):
        await late.fetch_balance()
    assert await carol.balances() == {"USDC": (Decimal("100"), Decimal("0"))}
    await carol.http.aclose()


async def test_too_many_orders_is_ddos_protection(
    stack: StackRun, exchanges: Callable[..., ccxt.binance]
) -> None:
    """Past the order rate (50 a second, a burst of 100), a 429 with Retry-After: ccxt's
    DDoSProtection. Its own throttle is off here, or it would never get there."""
    hank = await sign_up(stack, {"USDC": "1000"})
    key = await create_api_key(hank)
    h = exchanges(key["apiKey"], key["secret"])
    h.enableRateLimit = False
    await h.load_markets()
    answers = await asyncio.gather(
        *(h.create_order("BTC/USDC", "limit", "buy", 0.0005, 10_000) for _ in range(130)),
        return_exceptions=True,
    )
    refusals = [a for a in answers if isinstance(a, BaseException)]
    assert refusals
    assert all(isinstance(r, ccxt.DDoSProtection) for r in refusals), refusals[:3]
    assert "429" in str(refusals[0])
    open_orders = await hank.get("/api/v1/orders/open", market="BTC_USDC")
    assert len(open_orders) == len(answers) - len(refusals)
    await hank.cancel_all()
    await hank.http.aclose()
