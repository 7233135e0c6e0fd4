"""Every control has a name a screen reader can say, and the page works from the keyboard:
the regions are headed, the charts are described, and an order goes in without a mouse."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import new_account, open_orders, quotes, region, sign_in, wait_live

MARKET = "SOL_USDC"
CONTROLS = ("button", "link", "textbox", "combobox", "checkbox", "radio", "tab", "figure")
REGIONS = ["Order book", "Trades", "Open orders", "Balances", "Markets", "Place order", "Chart"]


def unnamed(page: Page) -> list[str]:
    """Controls in the accessibility tree without a name: `- button` rather than
    `- button "Buy"`."""
    tree = page.locator("body").aria_snapshot()
    pattern = re.compile(rf"^\s*- ({'|'.join(CONTROLS)})(\s*\[[^\]]*\])*:?\s*$")
    return [line for line in tree.splitlines() if pattern.match(line)]


def test_every_control_is_named_and_every_region_headed(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "500"})
    page = pages.open(f"/trade/{MARKET}")
    wait_live(page)
    assert unnamed(page) == []
    page.get_by_role("banner").get_by_role("button", name="Sign up", exact=True).click()
    assert unnamed(page) == []  # the dialog too
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog")).to_be_hidden()

    sign_in(page, trader.email)
    for name in REGIONS:
        expect(region(page, name)).to_be_visible()
    chart = region(page, "Chart")
    expect(
        chart.get_by_role("figure", name=re.compile(r"SOL\/USDC candles, 1m interval"))
    ).to_be_visible()
    chart.get_by_role("radio", name="5m", exact=True).click()
    expect(chart.get_by_role("figure", name=re.compile(r"5m interval"))).to_be_visible()
    chart.get_by_role("radio", name="Depth").click()
    expect(
        chart.get_by_role("figure", name="SOL/USDC depth chart: cumulative bids and asks")
    ).to_be_visible()
    assert unnamed(page) == []
    pages.snapshot(page, "depth")


def test_an_order_from_the_keyboard(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "500"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, trader.email)
    wait_live(page)
    price = f"{quotes(pages.stack, MARKET).below:.2f}"
    form = region(page, "Place order")
    form.get_by_role("radio", name="Buy", exact=True).focus()
    page.keyboard.press("Tab")  # to the order type
    page.keyboard.press("Tab")  # time in force
    page.keyboard.press("Tab")  # price
    expect(form.get_by_label("Price", exact=True)).to_be_focused()
    page.keyboard.type(price)
    page.keyboard.press("Tab")
    expect(form.get_by_label("Quantity", exact=True)).to_be_focused()
    page.keyboard.type("0.1")
    page.keyboard.press("Enter")
    expect(form.get_by_role("status")).to_contain_text(f"placed: 0.1 SOL at {price}")
    expect(open_orders(page)).to_have_count(1)
