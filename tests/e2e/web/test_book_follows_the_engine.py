"""The market maker's quotes appear in the page's order book, level for level as the engine
has them, and stay so while it requotes; grouping shows levels by multiples of the tick."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import book, book_equals_engine, region, wait_for, wait_live


def test_the_market_makers_quotes_are_the_book(pages: Pages) -> None:
    page = pages.open("/trade/SOL_USDC")
    wait_live(page)
    # (the market maker may quote one side only: it stops a side far from its inventory target)
    wait_for(lambda: (levels := book(page))["bids"] or levels["asks"], "the market maker's quotes")
    book_equals_engine(page, pages.stack, "SOL_USDC")
    page.wait_for_timeout(3000)  # requotes come as diffs: the book follows them
    book_equals_engine(page, pages.stack, "SOL_USDC")

    panel = region(page, "Order book")
    panel.get_by_label("Group by").select_option(label="1")  # by 1 USDC: 100 ticks a row

    def grouped() -> bool:
        levels = book(page)
        prices = [Decimal(price) for price, _ in levels["bids"] + levels["asks"]]
        return bool(prices) and all(price % 1 == 0 for price in prices)

    wait_for(grouped, "levels grouped by whole USDC")
    # bids round down and asks up: the rows never cross
    levels = book(page)
    if levels["bids"] and levels["asks"]:
        assert Decimal(levels["bids"][0][0]) < Decimal(levels["asks"][0][0])
    spread = panel.get_by_label("Last price and spread")
    expect(spread).to_contain_text("Spread")


def test_another_market_is_another_url(pages: Pages) -> None:
    page = pages.open("/trade/SOL_USDC")
    wait_live(page)
    region(page, "Markets").get_by_role("link", name="ETH/USDC").click()
    expect(page).to_have_url(pages.stack.api + "/trade/ETH_USDC")
    expect(page.get_by_role("banner").get_by_label("Market")).to_have_value("ETH_USDC")
    wait_live(page)
    book_equals_engine(page, pages.stack, "ETH_USDC")
    page.go_back()
    expect(page).to_have_url(pages.stack.api + "/trade/SOL_USDC")
    book_equals_engine(page, pages.stack, "SOL_USDC")
