"""The price drifts and nothing trades: the bot's inventory is still on target, so it goes on
quoting both sides at full size around the new price, however large its quote holding (the
target values the holdings at the price the bot started quoting around, not at each new one)."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.mm.harness import Account, MmProcess, PriceFeed, wait_until


def test_a_drift_past_the_inventory_limit_in_value_keeps_both_sides(
    bot_account: Account,
    feed: PriceFeed,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    # 500 SOL and 75000 USDC: on target at 150, with a limit of 6 SOL (3 levels of 1 SOL). At
    # 155 the quote holding is worth 16 SOL less: half of that is past the limit.
    fund(bot_account, "SOL", "500")
    fund(bot_account, "USDC", "75000")
    bot = start_mm(email=bot_account.email, price_feed_url=feed.url, requote_bps="10", targets="")
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    assert bot.metric("cryptex_mm_inventory_target", market="SOL_USDC") == 500

    feed.price = "155"
    flat = (
        [("154.84", "1.000"), ("154.69", "1.000"), ("154.53", "1.000")],
        [("155.16", "1.000"), ("155.31", "1.000"), ("155.47", "1.000")],
    )
    wait_until(lambda: bot_account.book() == flat, what="both sides around 155")
    wait_until(
        lambda: bot.metric("cryptex_mm_reference_price", market="SOL_USDC") == 155,
        what="the gauges of the new quotes",
    )
    assert bot.metric("cryptex_mm_inventory_target", market="SOL_USDC") == 500
