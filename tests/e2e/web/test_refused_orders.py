"""Orders the form refuses before sending (tick, lot, minimum quantity and notional, funds),
and orders the exchange refuses: the API's reason is shown."""

from __future__ import annotations

import uuid

import httpx
from playwright.sync_api import Request, expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import (
    balance,
    new_account,
    order_form,
    place,
    quotes,
    rest_best_ask,
    sign_in,
    wait_for,
    wait_live,
)

MARKET = "SOL_USDC"


def test_the_form_checks_tick_lot_minimums_and_funds_before_sending(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "100"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, trader.email)
    wait_live(page)
    wait_for(lambda: balance(page, "USDC"), "the balances")
    sent: list[str] = []

    def watch(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/order"):
            sent.append(request.url)

    page.on("request", watch)
    form = order_form(page)
    form.get_by_label("Price", exact=True).fill("100.005")
    form.get_by_label("Quantity", exact=True).fill("0.0005")
    form.get_by_role("button", name="Buy", exact=True).click()
    expect(form.get_by_text("Price must be a multiple of 0.01")).to_be_visible()
    expect(form.get_by_text("Quantity must be a multiple of 0.001")).to_be_visible()
    expect(form.get_by_label("Price", exact=True)).to_have_attribute("aria-invalid", "true")

    form.get_by_label("Price", exact=True).fill("100")
    form.get_by_label("Quantity", exact=True).fill("0.005")
    expect(form.get_by_text("Quantity must be at least 0.01 SOL")).to_be_visible()

    form.get_by_label("Quantity", exact=True).fill("0.04")
    form.get_by_label("Quantity", exact=True).press("Enter")
    expect(form.get_by_text("Order value must be at least 5 USDC (this one: 4)")).to_be_visible()

    form.get_by_label("Quantity", exact=True).fill("1")
    form.get_by_label("Quantity", exact=True).press("Enter")
    expect(form.get_by_text("Not enough USDC: this order needs 100.200000")).to_be_visible()
    assert sent == []

    # 100% of the free balance, fee reserve included, is what the exchange takes.
    form.get_by_role("button", name="100%").click()
    expect(form.get_by_label("Quantity", exact=True)).to_have_value("0.998")
    assert "placed" in place(page, "buy", "0.998", "100")
    assert len(sent) == 1


def test_the_exchanges_reasons_are_shown(pages: Pages) -> None:
    trader = new_account(pages.stack, {"USDC": "1000"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, trader.email)
    wait_live(page)
    wait_for(lambda: balance(page, "USDC") == ("1000.000000", "0.000000"), "the balances")

    # A post-only buy at an ask's price would take: the engine rejects it. (The ask is another
    # trader's: the market maker's may be missing.)
    maker = new_account(pages.stack, {"SOL": "1"})
    ask = rest_best_ask(pages.stack, maker, MARKET, "0.1")
    outcome = place(page, "buy", "0.1", ask, post_only=True)
    assert outcome.endswith("rejected: a post-only order would have taken liquidity"), outcome

    # Funds withdrawn elsewhere (a withdrawal sends nothing on balances@me): the page still
    # thinks they are there, the ledger refuses, and the page reads its balances again.
    with httpx.Client(base_url=pages.stack.api, timeout=10) as http:
        done = http.post(
            "/api/v1/admin/withdrawals",
            headers={"Authorization": f"Bearer {pages.stack.admin_token}"},
            json={"account": trader.account, "asset": "USDC", "amount": "990",
                  "reference": f"web-{uuid.uuid4().hex}"},
        )  # fmt: skip
        assert done.status_code == 200, done.text
    price = f"{quotes(pages.stack, MARKET).below:.2f}"
    pages.watch.allow(r"status of 400")  # the browser logs the refused request
    outcome = place(page, "buy", "0.5", price)
    assert outcome == "Order refused: insufficient USDC balance", outcome
    wait_for(lambda: balance(page, "USDC") == ("10.000000", "0.000000"), "the balances re-read")
