"""A taker buys from the bot: its base inventory falls below the target, so its quotes move up
and its asks shrink (it leans towards buying back)."""

from __future__ import annotations

from collections.abc import Callable

from tests.integration.mm.harness import Account, MmProcess, wait_until

FLAT_BIDS = [("149.85", "1.000"), ("149.70", "1.000"), ("149.55", "1.000")]
FLAT_ASKS = [("150.15", "1.000"), ("150.30", "1.000"), ("150.45", "1.000")]


def test_a_taker_moves_the_inventory_and_the_quotes_skew(
    other_account: Callable[[], Account],
    bot_account: Account,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "1500")
    # No target: half the value, 10 SOL of 10 SOL and 1500 USDC at 150. The limit is 6 SOL.
    bot = start_mm(email=bot_account.email, targets="", skew_bps="20")
    wait_until(lambda: bot_account.book() == (FLAT_BIDS, FLAT_ASKS), what="flat quotes")
    assert bot.metric("cryptex_mm_inventory_target", market="SOL_USDC") == 10

    taker = other_account()
    fund(taker, "USDC", "1000")
    bought = taker.http.post(
        "/api/v1/order",
        json={"side": "buy", "type": "market", "quantity": "2", "market": "SOL_USDC"},
    )
    assert bought.status_code == 200, bought.text
    assert [(f["price"], f["qty"]) for f in bought.json()["fills"]] == [
        ("150.15", "1.000"), ("150.30", "1.000"),
    ]  # fmt: skip

    # 8 SOL and 1800.15 USDC (less the maker fee): the target is still about 10 SOL, the
    # bot is 2 short. A third of the limit: the centre rises 20/3 bps to 150.10, and the
    # asks shrink to two thirds of a SOL.
    skewed_bids = [("149.94", "1.000"), ("149.79", "1.000"), ("149.64", "1.000")]
    skewed_asks = [("150.26", "0.666"), ("150.41", "0.666"), ("150.56", "0.666")]
    wait_until(lambda: bot_account.book() == (skewed_bids, skewed_asks), what="skewed quotes")
    assert bot.metric("cryptex_mm_inventory", market="SOL_USDC") == 8
    assert bot.metric("cryptex_mm_fills_total", market="SOL_USDC", side="sell") == 2
    assert bot.metric("cryptex_mm_quote_refreshes_total", market="SOL_USDC", reason="orders") >= 1
