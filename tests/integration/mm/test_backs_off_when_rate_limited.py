"""Against an API that allows one order a second (a burst of two), the bot gets 429s, waits
for each `Retry-After`, and still places all six quotes, without hammering the API."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.api.conftest import Stack
from tests.integration.mm.harness import Account, ApiProcess, MmProcess, wait_until


@pytest.fixture
def slow_api(stack: Stack, tmp_path: Path) -> Iterator[ApiProcess]:
    api = ApiProcess(stack.redis.url, stack.postgres.url, tmp_path, orders_per_second="1")
    api.start()
    yield api
    api.stop()


def test_429s_are_waited_out_and_every_quote_is_placed(
    slow_api: ApiProcess,
    bot_account: Account,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "2000")
    started = time.monotonic()
    bot = start_mm(email=bot_account.email, api_url=slow_api.url, backoff_cap_s="5")
    wait_until(lambda: len(bot_account.open_orders()) == 6, timeout=30, what="six quotes")
    elapsed = time.monotonic() - started

    order = {"method": "POST", "route": "/api/v1/order"}
    refused = slow_api.metric("cryptex_api_request_seconds_count", status="429", **order)
    placed = slow_api.metric("cryptex_api_request_seconds_count", status="200", **order)
    assert placed == 6
    assert refused >= 1
    # Two at once, then one a second: four seconds at least. Each 429 was waited out (one
    # second or more) before the next try, so there are fewer 429s than seconds.
    assert elapsed >= 4
    assert refused <= elapsed
    assert bot.metric("cryptex_mm_errors_total", kind="rate_limited") == refused
    assert bot.metric("cryptex_mm_orders_placed_total") == 6
    assert bot.metric("cryptex_mm_orders_rejected_total") == 0
