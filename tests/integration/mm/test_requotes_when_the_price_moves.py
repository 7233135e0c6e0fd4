"""The reference moves (a price feed, or the seeded random walk): a move under the threshold
leaves the quotes alone; a larger one cancels them and places new ones around the new price."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.api.conftest import Stack
from tests.integration.mm.harness import Account, MmProcess, PriceFeed, wait_until


def test_a_feed_move_past_the_threshold_replaces_the_quotes(
    stack: Stack,
    bot_account: Account,
    feed: PriceFeed,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "2000")
    bot = start_mm(email=bot_account.email, price_feed_url=feed.url, requote_bps="10")
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    first = {o["orderId"] for o in bot_account.open_orders()}
    bids, asks = bot_account.book()
    assert (bids[0][0], asks[0][0]) == ("149.85", "150.15")

    feed.price = "150.10"  # 6.7 bps: under the threshold
    requests = feed.requests
    wait_until(lambda: feed.requests >= requests + 5, what="the feed read again")
    assert {o["orderId"] for o in bot_account.open_orders()} == first

    feed.price = "152"
    wait_until(lambda: bot_account.book()[0][:1] == [("151.84", "1.000")], what="new bids")
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes again")
    bids, asks = bot_account.book()
    assert [price for price, _ in bids] == ["151.84", "151.69", "151.54"]
    assert [price for price, _ in asks] == ["152.16", "152.31", "152.46"]
    assert not first & {o["orderId"] for o in bot_account.open_orders()}
    old = bot_account.http.get(f"/api/v1/order/{min(first)}").json()
    assert old["status"] == "CANCELED"
    assert bot.metric("cryptex_mm_orders_canceled_total", market="SOL_USDC") == 6
    assert bot.metric("cryptex_mm_quote_refreshes_total", market="SOL_USDC", reason="price") == 2
    assert bot.metric("cryptex_mm_reference_price", market="SOL_USDC") == 152


def test_the_random_walk_moves_the_quotes(
    bot_account: Account,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    fund(bot_account, "SOL", "100")
    fund(bot_account, "USDC", "20000")
    # 20 bps a step against a 10 bps threshold: most steps rebuild the quotes.
    bot = start_mm(
        email=bot_account.email, volatility_bps="20", requote_bps="10", seed="7",
        targets="SOL_USDC=100",
    )  # fmt: skip
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    wait_until(
        lambda: bot.metric("cryptex_mm_quote_refreshes_total", reason="price") >= 3,
        what="three requotes",
    )
    time.sleep(0.3)
    assert bot.metric("cryptex_mm_reference_price", market="SOL_USDC") != 150
    assert bot.metric("cryptex_mm_orders_canceled_total") >= 6
    assert bot.metric("cryptex_mm_orders_rejected_total") == 0
