"""A newcomer signs up on the page, funds the account with the dev faucet, signs out and in
again; a wrong password is refused with the API's reason."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import balance, region, sign_in, wait_for, wait_live


def test_a_newcomer_signs_up_and_funds_the_account(pages: Pages) -> None:
    page = pages.open("/")
    expect(page).to_have_url(pages.stack.api + "/trade/BTC_USDC")  # the first market listed
    wait_live(page)
    expect(region(page, "Balances").get_by_text("Sign in to see your balances.")).to_be_visible()

    email = f"newcomer-{uuid.uuid4().hex[:8]}@example.com"
    page.get_by_role("banner").get_by_role("button", name="Sign up", exact=True).click()
    dialog = page.get_by_role("dialog", name="Create your Cryptex account")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill("short")
    dialog.get_by_role("button", name="Sign up", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text("Choose a password of at least 8 characters")
    dialog.get_by_label("Password").fill("a newcomer's password")
    dialog.get_by_label("Password").press("Enter")
    expect(dialog).to_be_hidden()
    banner = page.get_by_role("banner")
    expect(banner.get_by_text(email)).to_be_visible()
    balances = region(page, "Balances")
    expect(balances.get_by_text("No funds yet.")).to_be_visible()

    balances.get_by_role("button", name="Get test funds").click()
    expect(balances.get_by_role("status")).to_have_text("Test funds added")
    assert balance(page, "USDC") == ("10000.000000", "0.000000")
    assert balance(page, "BTC") is not None  # about 10,000 USDC's worth, at the last price

    banner.get_by_role("button", name="Sign out").click()
    expect(balances.get_by_text("Sign in to see your balances.")).to_be_visible()

    banner.get_by_role("button", name="Sign in", exact=True).click()
    dialog = page.get_by_role("dialog", name="Sign in to Cryptex")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill("not the password")
    pages.watch.allow(r"status of 401")  # the browser logs the refused sign-in
    dialog.get_by_role("button", name="Sign in", exact=True).click()
    expect(dialog.get_by_role("alert")).to_have_text("wrong email or password")
    dialog.get_by_role("button", name="Close").click()

    sign_in(page, email, "a newcomer's password")
    wait_for(lambda: balance(page, "USDC") == ("10000.000000", "0.000000"), "the balances")
