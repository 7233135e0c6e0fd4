"""At 360 px wide the page is one column with a tab bar: each section in turn, nothing wider
than the screen, and a trader can still place and cancel an order."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import (
    book,
    covers_no_control,
    new_account,
    open_orders,
    place,
    quotes,
    region,
    sign_in,
    wait_for,
    wait_live,
)

MARKET = "SOL_USDC"


def fits(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"the page is {width} px wide"


def test_a_phone_shows_one_section_at_a_time(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "500"})
    page = pages.open(f"/trade/{MARKET}", phone=True)
    sections = page.get_by_role("tablist", name="Sections")
    expect(sections).to_be_visible()
    sign_in(page, trader.email)
    wait_live(page)

    expect(region(page, "Markets")).to_be_visible()
    expect(region(page, "Order book")).to_be_hidden()
    fits(page)
    pages.snapshot(page, "chart")

    sections.get_by_role("tab", name="Book").click()
    expect(region(page, "Order book")).to_be_visible()
    expect(region(page, "Markets")).to_be_hidden()
    wait_for(lambda: book(page)["bids"], "bids")
    fits(page)
    pages.snapshot(page, "book")

    sections.get_by_role("tab", name="Trades").click()
    expect(region(page, "Trades")).to_be_visible()
    fits(page)

    sections.get_by_role("tab", name="Order").click()
    expect(region(page, "Place order")).to_be_visible()
    expect(region(page, "Balances")).to_be_visible()
    fits(page)
    price = f"{quotes(pages.stack, MARKET).below:.2f}"
    assert "placed" in place(page, "buy", "0.1", price)
    pages.snapshot(page, "order")
    # A fill's notice shows over the market's statistics, covering nothing to press.
    assert "filled" in place(page, "buy", "0.1", kind="Market")
    notices = page.get_by_role("status", name="Notifications")
    expect(notices).to_contain_text("Bought 0.1 SOL")
    covers_no_control(page, notices)
    pages.snapshot(page, "fill-notice")

    sections.get_by_role("tab", name="Account").click()
    expect(region(page, "Open orders")).to_be_visible()
    expect(region(page, "Place order")).to_be_hidden()
    expect(open_orders(page)).to_have_count(1)
    fits(page)
    open_orders(page).first.get_by_role("button", name="Cancel", exact=True).click()
    expect(open_orders(page)).to_have_count(0)
