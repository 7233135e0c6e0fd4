"""A burst of orders and cancels (about a hundred diffs a second) from several traders: the
page keeps up, rendering once a frame, and its book equals the engine's when it calms down."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import httpx

from tests.e2e.web.conftest import Pages
from tests.e2e.web.trader import Account, book_equals_engine, new_account, quotes, wait_live

MARKET = "ETH_USDC"  # this file's market: the burst stays out of the other tests' books
TRADERS = 4
ORDERS_EACH = 40  # placed, then cancelled: 320 changes to the book in about 3 s


def churn(trader: Account, below: Decimal, errors: list[str]) -> None:
    """Rest ORDERS_EACH bids under the market (a level each, 0.01 apart), then cancel them."""
    with trader.http() as http:
        ids = []
        for i in range(ORDERS_EACH):
            price = f"{below - Decimal('0.01') * (i * TRADERS + trader.account % TRADERS):.2f}"
            body = {"side": "buy", "price": price, "quantity": "0.01", "market": MARKET}
            answer = http.post("/api/v1/order", json=body)
            if answer.status_code != 200:
                errors.append(answer.text)
                continue
            ids.append(answer.json()["orderId"])
        refused = [i for i in ids if http.delete(f"/api/v1/order/{i}").status_code != 200]
        errors.extend(f"cancel {order_id}" for order_id in refused)


def test_the_book_keeps_up_with_a_burst(pages: Pages) -> None:
    traders = [new_account(pages.stack, {"USDC": "100000"}) for _ in range(TRADERS)]
    page = pages.open(f"/trade/{MARKET}")
    wait_live(page)
    book_equals_engine(page, pages.stack, MARKET)
    # The longest gap between two frames while the burst lasts.
    page.evaluate(
        """() => {
            window.cryptexFrames = { longest: 0, count: 0 };
            let last = performance.now();
            const tick = (now) => {
                window.cryptexFrames.longest = Math.max(window.cryptexFrames.longest, now - last);
                window.cryptexFrames.count += 1;
                last = now;
                requestAnimationFrame(tick);
            };
            requestAnimationFrame(tick);
        }"""
    )
    below = quotes(pages.stack, MARKET).below
    errors: list[str] = []
    started = time.monotonic()
    threads = [threading.Thread(target=churn, args=(t, below, errors)) for t in traders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    took = time.monotonic() - started
    assert errors == []
    frames = page.evaluate("window.cryptexFrames")
    print(f"burst: {2 * TRADERS * ORDERS_EACH} changes in {took:.1f} s; frames {frames}")
    book_equals_engine(page, pages.stack, MARKET)
    # Frames kept coming while the diffs did (a page that rendered per diff would stall).
    assert frames["count"] >= took * 20, frames
    assert frames["longest"] < 500, frames
    with httpx.Client(base_url=pages.stack.api, timeout=10) as http:
        assert http.get("/readyz").status_code == 200
