"""Quotes are post-only: one that would trade against someone's order is refused by the engine,
and the bot does not send it again while the reference stays where it is."""

from __future__ import annotations

import time
from collections.abc import Callable

from tests.integration.mm.harness import Account, MmProcess, wait_until


def test_a_quote_that_would_take_is_refused_once(
    other_account: Callable[[], Account],
    bot_account: Account,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    seller = other_account()
    fund(seller, "SOL", "1")
    resting = seller.http.post(
        "/api/v1/order",
        json={"side": "sell", "price": "149.80", "quantity": "1", "market": "SOL_USDC"},
    )
    assert resting.status_code == 200, resting.text
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "2000")

    bot = start_mm(email=bot_account.email, resync_s="30")
    wait_until(lambda: len(bot_account.open_orders()) == 5, what="all quotes but one")
    time.sleep(1)  # five more plans
    bids, asks = bot_account.book()
    assert [price for price, _ in bids] == ["149.70", "149.55"]  # 149.85 would take at 149.80
    assert len(asks) == 3
    refused = {"market": "SOL_USDC", "reason": "post_only_would_take"}
    assert bot.metric("cryptex_mm_orders_rejected_total", **refused) == 1
    assert len(seller.open_orders()) == 1  # untouched
