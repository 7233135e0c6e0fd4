"""The bot signs up and in, is funded by the admin route, and quotes both sides of SOL_USDC in
three levels, placing only what its balances can lock."""

from __future__ import annotations

from collections.abc import Callable

from cryptex.markets import MarketSpec
from tests.integration.api.conftest import Stack
from tests.integration.mm.harness import (
    Account,
    MmProcess,
    can_sign_in,
    sign_in,
    wait_until,
)

ASKS = [("150.15", "1.000"), ("150.30", "1.000"), ("150.45", "1.000")]


def test_signs_up_is_funded_and_quotes_within_its_balances(
    stack: Stack, start_mm: Callable[..., MmProcess], fund: Callable[[Account, str, str], None]
) -> None:
    email = "mm-signup-" + stack.url.rsplit(":", 1)[1] + "@example.com"
    bot = start_mm(email=email, sign_up="true")
    wait_until(lambda: can_sign_in(stack.url, email), what="the bot's sign-up")
    account = sign_in(stack.url, email)
    assert account is not None
    try:
        check_quotes_within_balances(bot, account, fund)
    finally:
        account.http.close()


def check_quotes_within_balances(
    bot: MmProcess, account: Account, fund: Callable[[Account, str, str], None]
) -> None:
    wait_until(lambda: bot.metric("cryptex_mm_signins_total") >= 1)
    assert account.open_orders() == []  # nothing to lock yet

    fund(account, "SOL", "10")
    wait_until(lambda: account.book()[1] == ASKS, what="three asks of 1 SOL")
    # 350 USDC locks two bids of 1 SOL (149.85 and 149.70, each with its 0.3 USDC fee
    # reserve); the 49.85 left cannot lock half of the third.
    fund(account, "USDC", "350")
    wait_until(lambda: len(account.book()[0]) == 2, what="two bids")
    assert account.book() == ([("149.85", "1.000"), ("149.70", "1.000")], ASKS)
    assert account.balances() == {
        "SOL": ("7.00000000", "3.00000000"),
        "USDC": ("49.850000", "300.150000"),
    }
    assert bot.metric("cryptex_mm_orders_placed_total", market="SOL_USDC", side="buy") == 2
    assert bot.metric("cryptex_mm_orders_placed_total", market="SOL_USDC", side="sell") == 3
    assert bot.metric("cryptex_mm_orders_rejected_total") == 0
    assert bot.metric("cryptex_mm_inventory", market="SOL_USDC") == 10
    assert bot.metric("cryptex_mm_reference_price", market="SOL_USDC") == 150
    assert bot.metric("cryptex_mm_open_orders", market="SOL_USDC", side="buy") == 2
    assert bot.metric("cryptex_mm_balance", asset="USDC", kind="free") == 49.85
    assert bot.metric("cryptex_mm_stream_connected") == 1
    assert bot.health() == 200


def test_quotes_several_markets_from_one_balance(
    stack: Stack,
    btc_engine: MarketSpec,
    bot_account: Account,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    for asset, amount in (("SOL", "10"), ("BTC", "1"), ("USDC", "5000")):
        fund(bot_account, asset, amount)
    bot = start_mm(
        email=bot_account.email, markets="SOL_USDC,BTC_USDC",
        prices="SOL_USDC=150,BTC_USDC=60000", sizes="SOL_USDC=1,BTC_USDC=0.001",
        targets="SOL_USDC=10,BTC_USDC=1",
    )  # fmt: skip

    def quoted() -> bool:
        return all(len(side) == 3 for m in ("SOL_USDC", "BTC_USDC") for side in bot_account.book(m))

    wait_until(quoted, what="three levels a side in both markets")
    bids, asks = bot_account.book("BTC_USDC")
    assert (bids[0], asks[0]) == (("59940.0", "0.00100"), ("60060.0", "0.00100"))
    assert bot.metric("cryptex_mm_orders_placed_total", market="BTC_USDC") == 6
    assert bot.metric("cryptex_mm_reference_price", market="BTC_USDC") == 60000


def test_without_a_price_it_starts_from_the_books_mid(
    other_account: Callable[[], Account],
    bot_account: Account,
    start_mm: Callable[..., MmProcess],
    fund: Callable[[Account, str, str], None],
) -> None:
    trader = other_account()
    fund(trader, "SOL", "1")
    fund(trader, "USDC", "200")
    for side, price in (("buy", "140"), ("sell", "160.02")):
        placed = trader.http.post(
            "/api/v1/order",
            json={"side": side, "price": price, "quantity": "1", "market": "SOL_USDC"},
        )
        assert placed.status_code == 200, placed.text
    fund(bot_account, "SOL", "10")
    fund(bot_account, "USDC", "2000")
    bot = start_mm(email=bot_account.email, prices="")
    wait_until(lambda: len(bot_account.open_orders()) == 6, what="six quotes")
    assert bot.metric("cryptex_mm_reference_price", market="SOL_USDC") == 150.01
    bids, asks = bot_account.book()
    # 150.01 -/+ 10 bps is 149.85999 and 150.16001: rounded out.
    assert (bids[0][0], asks[0][0]) == ("149.85", "150.17")
