"""A limit order below the market rests: it shows in the book at its price and in open orders,
its funds locked; Cancel removes it, and Cancel all removes every one."""

from __future__ import annotations

from decimal import ROUND_CEILING, Decimal

from playwright.sync_api import expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import (
    balance,
    book,
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


def test_a_resting_order_shows_in_the_book_and_in_open_orders(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "2000"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, trader.email)
    wait_live(page)
    price = f"{quotes(pages.stack, MARKET).below:.2f}"  # below the market: it rests

    outcome = place(page, "buy", "0.5", price)
    assert outcome.startswith("Buy order ")
    assert outcome.endswith(f"placed: 0.5 SOL at {price}")
    wait_for(lambda: (price, "0.500") in book(page)["bids"], f"a bid of 0.500 at {price}")
    rows = open_orders(page)
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(price)
    expect(rows.first).to_contain_text("Buy")
    # 0.5 x price, and the fee reserve: 0.20% of a lot's notional rounded up, per lot
    per_lot = Decimal(price) * Decimal("0.001")
    reserve = (per_lot * Decimal("0.002")).quantize(Decimal("0.000001"), rounding=ROUND_CEILING)
    lock = 500 * (per_lot + reserve)
    wait_for(lambda: balance(page, "USDC") == (f"{2000 - lock:.6f}", f"{lock:.6f}"), "the lock")
    expect(region(page, "Open orders")).to_be_visible()
    assert [o["price"] for o in trader.get("/api/v1/orders/open")] == [price]

    rows.first.get_by_role("button", name="Cancel", exact=True).click()
    expect(region(page, "Open orders").get_by_role("status")).to_contain_text("cancelled")
    expect(rows).to_have_count(0)
    wait_for(lambda: (price, "0.500") not in book(page)["bids"], "the bid to leave the book")
    wait_for(lambda: balance(page, "USDC") == ("2000.000000", "0.000000"), "the lock released")
    assert trader.get("/api/v1/orders/open") == []


def test_cancel_all_cancels_every_open_order(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "2000", "SOL": "10"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, trader.email)
    wait_live(page)
    top = quotes(pages.stack, MARKET)
    low, high = f"{top.below:.2f}", f"{top.above:.2f}"
    assert "placed" in place(page, "buy", "0.2", low)
    assert "placed" in place(page, "sell", "0.3", high)
    expect(open_orders(page)).to_have_count(2)
    wait_for(lambda: (high, "0.300") in book(page)["asks"], "the ask in the book")

    region(page, "Open orders").get_by_role("button", name="Cancel all", exact=True).click()
    expect(region(page, "Open orders").get_by_role("status")).to_have_text("2 orders cancelled")
    expect(open_orders(page)).to_have_count(0)
    expect(region(page, "Open orders").get_by_text("No open orders.")).to_be_visible()
    wait_for(lambda: balance(page, "SOL") == ("10.00000000", "0.00000000"), "SOL released")
    wait_for(lambda: balance(page, "USDC") == ("2000.000000", "0.000000"), "USDC released")
    assert trader.get("/api/v1/orders/open") == []
