"""A buy that crosses an ask fills: the form estimates the taker's fee and says it filled, a
notice announces the fill (orders@me), the trade shows in the tape coloured as a buy, the
balances change (balances@me), the candle takes the trade, and the trade and the order are in
the trader's lists, the trade still after a reload (GET /api/v1/myTrades)."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from playwright.sync_api import Page, expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import (
    balance,
    covers_no_control,
    new_account,
    order_form,
    place,
    region,
    rest_best_ask,
    sign_in,
    wait_for,
    wait_live,
)

MARKET = "SOL_USDC"


def candle(page: Page) -> tuple[str, Decimal] | None:
    """The close and volume of the last candle, from the chart's legend."""
    text = region(page, "Chart").locator(".legend").inner_text()
    match = re.search(r"C\s+([\d,.]+)\s+V\s+([\d,.]+)", text)
    if match is None:
        return None
    return match[1].replace(",", ""), Decimal(match[2].replace(",", ""))


def test_a_crossing_buy_fills_and_everything_follows(pages: Pages) -> None:
    stack = pages.stack
    maker = new_account(stack, {"SOL": "5"})
    taker = new_account(stack, {"USDC": "1000"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, taker.email)
    wait_live(page)
    wait_for(lambda: balance(page, "USDC"), "the balances")
    page.mouse.move(0, 0)  # the chart's legend shows the last candle, not a hovered one
    before = candle(page)
    volume_before = before[1] if before else Decimal(0)

    # The maker's ask inside the market maker's spread: the best ask, and it rests.
    price = rest_best_ask(stack, maker, MARKET, "0.2")

    # The fee estimate: the taker's for a buy at the best ask, the maker's for one that rests.
    form = order_form(page)
    form.get_by_label("Quantity", exact=True).fill("0.2")
    form.get_by_label("Price", exact=True).fill(price)
    expect(form.get_by_text("Fee (taker 0.20%)")).to_be_visible()
    form.get_by_label("Price", exact=True).fill(f"{Decimal(price) / 2:.2f}")
    expect(form.get_by_text("Fee (maker 0.10%)")).to_be_visible()

    outcome = place(page, "buy", "0.2", price)
    match = re.fullmatch(r"Buy order (\d+) filled: 0\.2 SOL filled at ([\d.]+) on average", outcome)
    assert match, outcome
    order_id = int(match[1])
    notices = page.get_by_role("status", name="Notifications")
    expect(notices).to_contain_text(
        re.compile(rf"Bought 0\.2 SOL at [\d.]+ \(SOL/USDC, order {order_id}\)")
    )
    covers_no_control(page, notices)
    pages.snapshot(page, "fill-notice")

    # The tape: the exchange's latest trades, the fill among them, taken by a buyer.
    trades = taker.get("/api/v1/trades", symbol=MARKET, limit=3)
    tape = region(page, "Trades")
    for trade in trades[:1]:
        row = tape.locator(f'tr[data-trade-id="{trade["id"]}"]')
        expect(row).to_have_attribute("data-side", "buy")
        expect(row).to_contain_text(trade["price"])
        expect(row).to_contain_text(trade["qty"])

    # Balances as the ledger has them, without a reload.
    wait_for(lambda: balance(page, "SOL") == ("0.20000000", "0.00000000"), "SOL bought")
    ledger = taker.balances()
    wait_for(
        lambda: balance(page, "USDC") == tuple(f"{v:.6f}" for v in ledger["USDC"]), "USDC paid"
    )
    assert ledger["USDC"][0] < Decimal("1000") - Decimal(price) * Decimal("0.2") + Decimal("0.001")

    # The candle took the trade.
    def moved() -> bool:
        now = candle(page)
        return now is not None and now[1] >= volume_before + Decimal("0.2")

    wait_for(moved, "the candle's volume to take the trade")

    # The trader's lists.
    account = page.get_by_role("tablist", name="Your orders and trades")
    account.get_by_role("tab", name="My trades").click()
    mine = region(page, "My trades")
    fills = mine.locator(f'tr[data-order-id="{order_id}"]')  # one a maker order it traded with
    expect(fills.first).to_contain_text("Taker")
    account.get_by_role("tab", name="Order history").click()
    history = region(page, "Order history")
    row = history.locator(f'tr[data-order-id="{order_id}"]')
    expect(row).to_contain_text("filled", timeout=20_000)  # written by the DB processor

    # A reload keeps the session (the tab holds the token); the trades come from
    # GET /api/v1/myTrades, as the DB processor recorded them.
    def fills_recorded() -> list[dict[str, Any]] | None:
        listed = taker.get("/api/v1/myTrades", market=MARKET)
        found = [trade for trade in listed if trade["orderId"] == order_id]
        return found if sum(Decimal(t["qty"]) for t in found) == Decimal("0.2") else None

    recorded = wait_for(fills_recorded, "the fills recorded")
    page.reload()
    wait_live(page)
    account = page.get_by_role("tablist", name="Your orders and trades")
    account.get_by_role("tab", name="My trades").click()
    mine = region(page, "My trades")
    expect(mine.locator("tbody tr")).to_have_count(len(recorded))
    for trade in recorded:
        listed = mine.locator(f'tr[data-order-id="{order_id}"][data-trade-id="{trade["tradeId"]}"]')
        expect(listed).to_contain_text(trade["price"])
        expect(listed).to_contain_text(trade["qty"])
        expect(listed).to_contain_text(f"{trade['fee']} USDC")
        expect(listed).to_contain_text("Taker")
