"""One URL per market (deep links, the history fallback, an unknown market), cached assets, and
a session whose token the exchange no longer takes: the page asks to sign in again."""

from __future__ import annotations

import json
import re
import time

import httpx
import jwt
from playwright.sync_api import expect

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import new_account, region, wait_live


def test_a_deep_link_opens_its_market(pages: Pages) -> None:
    page = pages.open("/trade/eth-usdc")
    expect(page).to_have_url(pages.stack.api + "/trade/ETH_USDC")
    expect(page.get_by_role("banner").get_by_label("Market")).to_have_value("ETH_USDC")
    expect(page).to_have_title(re.compile(r"ETH/USDC · Cryptex$"))
    wait_live(page)
    expect(
        region(page, "Order book").get_by_role("columnheader", name="Amount (ETH)")
    ).to_be_visible()

    pages.watch.allow(r"No market DOGE_USDC")
    unknown = pages.open("/trade/DOGE_USDC", label="unknown")
    expect(unknown).to_have_url(pages.stack.api + "/trade/BTC_USDC")
    expect(unknown.get_by_role("status", name="Notifications")).to_contain_text(
        "No market DOGE_USDC: showing BTC_USDC"
    )


def test_pages_and_assets_are_served_as_a_static_app(pages: Pages) -> None:
    with httpx.Client(base_url=pages.stack.api, timeout=10) as http:
        index = http.get("/some/page")
        assert index.status_code == 200
        assert index.headers["cache-control"] == "no-cache"
        script = index.text.split('<script type="module" src="')[1].split('"')[0]
        asset = http.get(script, headers={"accept-encoding": "gzip"})
        assert asset.status_code == 200
        assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert asset.headers["content-encoding"] == "gzip"
        assert http.get("/api/v1/nothing").json()["code"] == -1005


def test_an_expired_session_asks_to_sign_in_again(pages: Pages) -> None:
    trader = new_account(pages.stack)
    # A token the exchange signed that has expired (the stack's secret), held by the tab as
    # if it were still good.
    secret = (pages.stack.data / "jwt-secret").read_text().strip()
    now = int(time.time())
    claims = jwt.decode(trader.token, options={"verify_signature": False})
    expired = jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, "HS256")
    session = {"token": expired, "accountId": trader.account, "email": trader.email,
               "expiresAt": (now + 3600) * 1000}  # fmt: skip
    pages.watch.allow(r"status of 401")  # the browser logs the refused requests
    page = pages.open(
        "/trade/SOL_USDC",
        init_script=f"sessionStorage.setItem('cryptex.session', {json.dumps(json.dumps(session))})",
    )
    dialog = page.get_by_role("dialog", name="Sign in to Cryptex")
    expect(dialog.get_by_role("alert")).to_have_text("Your session has expired: sign in again.")
    expect(
        page.get_by_role("banner").get_by_role("button", name="Sign in", exact=True)
    ).to_be_visible()
