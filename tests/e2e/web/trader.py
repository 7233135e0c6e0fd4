"""What a trader does on the page, by the names a screen reader announces (labels, button
names, region headings), and what the exchange says through its public REST API, to compare."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TypeVar

import httpx
from playwright.sync_api import Locator, Page, expect

from tests.e2e.harness import PASSWORD, StackRun

T = TypeVar("T")


def wait_for(check: Callable[[], T | None], what: str, timeout: float = 15.0) -> T:
    """Poll `check` until it returns something truthy."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what} (last: {last!r})")


@dataclass
class Account:
    email: str
    account: int
    token: str
    stack: StackRun

    def http(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.stack.api, headers={"Authorization": f"Bearer {self.token}"}, timeout=10
        )

    def get(self, path: str, **params: Any) -> Any:
        with self.http() as http:
            response = http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    def place(self, **order: Any) -> Any:
        with self.http() as http:
            response = http.post("/api/v1/order", json={"type": "limit", **order})
        assert response.status_code == 200, response.text
        return response.json()

    def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"]))
                for b in self.get("/api/v1/balances")}  # fmt: skip


def new_account(stack: StackRun, funds: dict[str, str] | None = None) -> Account:
    """An account made over REST (and funded by the admin): for the page to sign in with, or to
    trade against it."""
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    with httpx.Client(base_url=stack.api, timeout=10) as http:
        created = http.post("/api/v1/signup", json=credentials)
        assert created.status_code == 201, created.text
        signed = http.post("/api/v1/signin", json=credentials)
        assert signed.status_code == 200, signed.text
        account = created.json()["accountId"]
        for asset, amount in (funds or {}).items():
            done = http.post(
                "/api/v1/admin/deposits",
                headers={"Authorization": f"Bearer {stack.admin_token}"},
                json={"account": account, "asset": asset, "amount": amount,
                      "reference": f"web-{uuid.uuid4().hex}"},
            )  # fmt: skip
            assert done.status_code == 200, done.text
    return Account(email, account, signed.json()["token"], stack)


def depth(stack: StackRun, symbol: str, limit: int = 100) -> Any:
    with httpx.Client(base_url=stack.api, timeout=10) as http:
        return http.get("/api/v1/depth", params={"symbol": symbol, "limit": limit}).json()


@dataclass
class Quotes:
    """The engine's best bid and ask. The market maker may quote one side only (it stops a
    side when its inventory strays from its target), so either may be missing."""

    bid: Decimal | None
    ask: Decimal | None

    @property
    def below(self) -> Decimal:
        """A price where a buy rests: under the bids, and under the asks."""
        return min(p for p in (self.bid, self.ask) if p is not None) - 1

    @property
    def above(self) -> Decimal:
        """A price where a sell rests: over the asks, and over the bids."""
        return max(p for p in (self.bid, self.ask) if p is not None) + 1

    @property
    def inside(self) -> Decimal:
        """A price a sell rests at as the best ask: above the best bid, below the best ask."""
        if self.bid is not None:
            price = self.bid + Decimal("0.05")
            assert self.ask is None or price < self.ask, self
            return price
        assert self.ask is not None
        return self.ask - Decimal("0.05")


def quotes(stack: StackRun, symbol: str) -> Quotes:
    """The best prices, once the book has a side (briefly empty while the maker requotes)."""

    def read() -> Quotes | None:
        book = depth(stack, symbol, 1)
        bid = Decimal(book["bids"][0][0]) if book["bids"] else None
        ask = Decimal(book["asks"][0][0]) if book["asks"] else None
        return Quotes(bid, ask) if bid is not None or ask is not None else None

    return wait_for(read, f"quotes in {symbol}")


def rest_best_ask(stack: StackRun, seller: Account, symbol: str, quantity: str) -> str:
    """A sell of `seller` resting as the best ask, inside the spread; its price. Post-only: the
    market maker requotes every few seconds, and if its bids have risen to the price meanwhile
    the sell is refused rather than filled, and tried again at the new quotes."""
    for _ in range(10):
        price = f"{quotes(stack, symbol).inside:.2f}"
        order = seller.place(
            side="sell", price=price, quantity=quantity, market=symbol, postOnly=True
        )
        if order["status"] == "NEW":
            return price
    raise AssertionError(f"no sell rested inside the spread of {symbol}")


# ------------------------------------------------------------------ the page


def region(page: Page, name: str) -> Locator:
    return page.get_by_role("region", name=name, exact=True)


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_role("banner").get_by_role("button", name="Sign in", exact=True).click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("Email").fill(email)
    dialog.get_by_label("Password").fill(password)
    dialog.get_by_role("button", name="Sign in", exact=True).click()
    expect(dialog).to_be_hidden()
    banner = page.get_by_role("banner")
    expect(banner.get_by_role("button", name="Sign out")).to_be_visible()
    expect(banner.get_by_text(email)).to_be_attached()  # shown on a desktop


def wait_live(page: Page) -> None:
    """The connection is up and the book is in sync."""
    expect(page.get_by_role("status", name="Connection: Live")).to_be_attached()
    # by its area: on a phone the book may be on another tab, out of the accessibility tree
    expect(page.locator('[data-area="book"]')).to_have_attribute("data-state", "live")


def book(page: Page) -> dict[str, list[tuple[str, str]]]:
    """The levels the page shows, best first: {"bids": [(price, qty)], "asks": [...]}."""
    levels: dict[str, list[tuple[str, str]]] = page.evaluate(
        """() => {
            const rows = (selector) => [...document.querySelectorAll(selector)]
                .map((row) => [row.dataset.price, row.dataset.qty]);
            return {
                bids: rows('[data-area="book"] tbody.bids tr[data-price]'),
                asks: rows('[data-area="book"] tbody.asks tr[data-price]').reverse(),
            };
        }"""
    )
    return {side: [(p, q) for p, q in rows] for side, rows in levels.items()}


def book_equals_engine(page: Page, stack: StackRun, symbol: str, rows: int = 14) -> None:
    """The page's book is the engine's, level for level (polled: the market maker requotes)."""

    def same() -> bool:
        shown = book(page)
        engine = depth(stack, symbol, rows)
        wanted = {side: [tuple(level) for level in engine[side]] for side in ("bids", "asks")}
        return shown == wanted and bool(shown["bids"] or shown["asks"])

    wait_for(same, f"the page's {symbol} book to equal the engine's depth", timeout=20)


def order_form(page: Page) -> Locator:
    return region(page, "Place order")


def place(
    page: Page,
    side: str,
    quantity: str,
    price: str | None = None,
    *,
    kind: str = "Limit",
    time_in_force: str = "GTC",
    post_only: bool = False,
) -> str:
    """Fill the form and press Enter in the quantity field; the outcome the form announces."""
    form = order_form(page)
    form.get_by_role("radio", name=side.capitalize(), exact=True).check()
    form.get_by_label("Order type").select_option(label=kind)
    if kind == "Limit":
        form.get_by_label("Time in force").select_option(time_in_force)
        form.get_by_label("Price", exact=True).fill(price or "")
        box = form.get_by_role("checkbox", name=re.compile("^Post only"))
        box.set_checked(post_only)
    outcome = form.get_by_role("status")
    before = outcome.inner_text()
    form.get_by_label("Quantity", exact=True).fill(quantity)
    form.get_by_label("Quantity", exact=True).press("Enter")
    return wait_for(
        lambda: text if (text := outcome.inner_text()) and text != before else None,
        "the order's outcome",
    )


def balance(page: Page, asset: str) -> tuple[str, str] | None:
    row = region(page, "Balances").locator(f'tr[data-asset="{asset}"]')
    if row.count() == 0:
        return None
    free = row.locator("[data-free]").get_attribute("data-free")
    locked = row.locator("[data-locked]").get_attribute("data-locked")
    assert free is not None
    assert locked is not None
    return free, locked


def open_orders(page: Page) -> Locator:
    return region(page, "Open orders").locator("tbody tr[data-order-id]")


def covers_no_control(page: Page, notices: Locator) -> None:
    """The notices on screen overlap no link, button, field or tab outside themselves."""
    covered: list[str] = notices.evaluate(
        """(region) => {
            const shown = [...region.children]
                .map((item) => item.getBoundingClientRect())
                .filter((box) => box.width > 0 && box.height > 0);
            const controls = document.querySelectorAll(
                'a[href], button, input, select, textarea, [role="tab"], [tabindex]');
            const hit = [];
            for (const control of controls) {
                if (region.contains(control)) continue;
                const box = control.getBoundingClientRect();
                if (box.width === 0 || box.height === 0) continue;
                for (const notice of shown) {
                    if (box.left < notice.right && notice.left < box.right
                        && box.top < notice.bottom && notice.top < box.bottom) {
                        hit.push(control.outerHTML.slice(0, 120));
                    }
                }
            }
            return hit;
        }"""
    )
    shown = notices.evaluate("(region) => region.getBoundingClientRect().height")
    assert shown > 0, "no notice on screen"
    assert covered == [], covered
