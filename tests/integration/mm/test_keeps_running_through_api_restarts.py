"""The API and the WebSocket server go away and come back with a new JWT secret: the bot keeps
running (healthy, backing off), signs in again when its token is refused, resubscribes its
private streams, and quotes the next price move through the new API."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.integration.api.conftest import JWT_SECRET, Stack
from tests.integration.mm.harness import Account, ApiProcess, MmProcess, PriceFeed, wait_until
from tests.integration.ws.harness import WsProcess

NEW_SECRET = "a rotated secret, also long enough for HS256 keys"


@pytest.fixture
def servers(stack: Stack, tmp_path: Path) -> Iterator[tuple[ApiProcess, WsProcess]]:
    api = ApiProcess(stack.redis.url, stack.postgres.url, tmp_path)
    api.start()
    ws = WsProcess(stack.redis.url, tmp_path, jwt_secret=JWT_SECRET)
    ws.start()
    yield api, ws
    api.stop()
    ws.stop()


def test_the_bot_rides_out_a_restart_and_a_new_secret(
    servers: tuple[ApiProcess, WsProcess],
    bot_account: Account,
    feed: PriceFeed,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    api, ws = servers
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "2000")
    bot = start_mm(email=bot_account.email, api_url=api.url, ws_url=ws.url, price_feed_url=feed.url)
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    wait_until(lambda: bot.metric("cryptex_mm_stream_connected") == 1)

    api.stop()
    ws.stop()
    unavailable = bot.metric("cryptex_mm_errors_total", kind="unavailable")
    wait_until(
        lambda: bot.metric("cryptex_mm_errors_total", kind="unavailable") >= unavailable + 3,
        what="failed requests",
    )
    assert bot.metric("cryptex_mm_stream_connected") == 0
    assert bot.running
    assert bot.health() == 200  # its loops turn; the API is what is down
    assert len(bot_account.open_orders()) == 6  # the quotes rest meanwhile

    api.start(jwt_secret=NEW_SECRET)
    ws.env["CRYPTEX_JWT_SECRET"] = NEW_SECRET
    ws.start()
    feed.price = "152"
    wait_until(lambda: bot_account.book()[0][:1] == [("151.84", "1.000")], what="new bids")
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes again")
    wait_until(lambda: bot.metric("cryptex_mm_stream_connected") == 1, what="streams back")
    assert bot.metric("cryptex_mm_errors_total", kind="unauthorized") >= 1
    assert bot.metric("cryptex_mm_signins_total") >= 2
