"""A stack of its own for the Binance-compatible API's tests (without the market maker), so
their books and trades are theirs alone; and ccxt's `binance` class pointed at it, with only
its URLs and three options changed, as a trader would."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import ccxt.async_support as ccxt
import ccxt.pro as ccxtpro
import pytest

from tests.e2e.harness import StackRun, Trader

# What a trader changes in ccxt's binance class: its URLs and these options, nothing else.
OPTIONS = {"fetchMarkets": {"types": ["spot"]}, "fetchCurrencies": False, "fetchMargins": False}


@pytest.fixture(scope="module")
def stack() -> Iterator[StackRun]:
    run = StackRun("--no-mm", "--no-monitoring")  # test_monitoring.py proves the monitoring
    try:
        run.up()
        yield run
    finally:
        run.remove()


async def create_api_key(
    trader: Trader, permissions: tuple[str, ...] = ("read", "trade"), **extra: Any
) -> dict[str, Any]:
    response = await trader.http.post(
        "/api/v1/apikeys",
        json={"label": "ccxt", "permissions": list(permissions), **extra},
    )
    assert response.status_code == 201, response.text
    created: dict[str, Any] = response.json()
    return created


def binance_for(stack: StackRun, api_key: str = "", secret: str = "") -> ccxt.binance:
    exchange = ccxt.binance({"apiKey": api_key, "secret": secret, "options": OPTIONS})
    rest = f"{stack.api}/api/v3"
    exchange.urls["api"] = {"public": rest, "private": rest}
    return exchange


def pro_for(stack: StackRun, api_key: str = "", secret: str = "") -> ccxtpro.binance:
    """ccxt.pro's binance class: REST as `binance_for`, and its WebSocket URLs: the market
    streams (`/ws`, to which it adds a stream index) and the WebSocket API (user data)."""
    exchange = ccxtpro.binance({"apiKey": api_key, "secret": secret, "options": OPTIONS})
    rest, ws = f"{stack.api}/api/v3", stack.ws.rstrip("/")
    exchange.urls["api"] = {
        "public": rest, "private": rest,
        "ws": {"spot": f"{ws}/ws", "ws-api": {"spot": f"{ws}/ws-api/v3"}},
    }  # fmt: skip
    return exchange


@pytest.fixture
async def pros(stack: StackRun) -> AsyncIterator[Callable[..., ccxtpro.binance]]:
    """Makes ccxt.pro clients and closes each (and its connections) at the end."""
    made: list[ccxtpro.binance] = []

    def make(api_key: str = "", secret: str = "") -> ccxtpro.binance:
        made.append(pro_for(stack, api_key, secret))
        return made[-1]

    yield make
    for exchange in made:
        await exchange.close()


@pytest.fixture
async def exchanges(stack: StackRun) -> AsyncIterator[Callable[..., ccxt.binance]]:
    """Makes ccxt clients and closes each at the end."""
    made: list[ccxt.binance] = []

    def make(api_key: str = "", secret: str = "") -> ccxt.binance:
        made.append(binance_for(stack, api_key, secret))
        return made[-1]

    yield make
    for exchange in made:
        await exchange.close()
