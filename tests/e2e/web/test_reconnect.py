"""The WebSocket server is killed: the page says it is reconnecting and never shows its book as
live; the server comes back on the same port: the page reconnects by itself, resubscribes every
stream, and its book is the engine's again; its private streams work again too."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.e2e.harness import StackRun
from tests.e2e.web.conftest import SPAWNED, Pages
from tests.e2e.web.trader import (
    balance,
    book_equals_engine,
    new_account,
    quotes,
    region,
    sign_in,
    wait_for,
    wait_live,
)

MARKET = "SOL_USDC"


class WsRestart:
    """Kills the stack's WebSocket server (SIGKILL: no goodbye to its clients) and starts
    another on the same ports, as the stack did. The new one takes the old one's place in the
    stack's pids file, so the stack stops it with the rest at the end of the session; the
    tests after this one use it."""

    def __init__(self, stack: StackRun) -> None:
        self.stack = stack
        self.pids = stack.data / "pids"
        self.health = f"http://127.0.0.1:{stack.state['ports']['ws_metrics']}/healthz"

    def record(self) -> dict[str, Any]:
        procs: list[dict[str, Any]] = json.loads(self.pids.read_text())
        (ws,) = [proc for proc in procs if proc["name"] == "ws"]
        return ws

    def kill(self) -> None:
        pid = int(self.record()["pid"])
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: not _alive(pid), "the WebSocket server to die")

    def start(self) -> None:
        ports = self.stack.state["ports"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTEX_")}
        env.update(
            CRYPTEX_REDIS_URL=self.stack.state["redis"],
            CRYPTEX_HOST="127.0.0.1",
            CRYPTEX_PORT=str(ports["ws"]),
            CRYPTEX_METRICS_HOST="127.0.0.1",
            CRYPTEX_METRICS_PORT=str(ports["ws_metrics"]),
            CRYPTEX_JWT_SECRET=(self.stack.data / "jwt-secret").read_text().strip(),
        )
        old = self.record()
        with Path(old["log"]).open("ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "cryptex_ws"], env=env, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        SPAWNED.append(process)
        procs = [proc for proc in json.loads(self.pids.read_text()) if proc["name"] != "ws"]
        procs.append({**old, "pid": process.pid, "start": _start_time(process.pid)})
        self.pids.write_text(json.dumps(procs, indent=2))
        wait_for(lambda: _healthy(self.health), "the new WebSocket server", timeout=30)

    def ensure_running(self) -> None:
        if not _alive(int(self.record()["pid"])):
            self.start()


def _stat(pid: int) -> list[str] | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None


def _alive(pid: int) -> bool:
    fields = _stat(pid)
    return fields is not None and fields[0] not in ("Z", "X")


def _start_time(pid: int) -> int:
    """What stack.py keeps with a pid to tell the process from a later one with that pid."""
    fields = _stat(pid)
    assert fields is not None
    return int(fields[19])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@pytest.fixture
def ws_restart(web_stack: StackRun) -> Iterator[WsRestart]:
    restart = WsRestart(web_stack)
    try:
        yield restart
    finally:
        restart.ensure_running()  # for the tests after this one


def test_the_page_reconnects_and_resynchronises(pages: Pages, ws_restart: WsRestart) -> None:
    trader = new_account(pages.stack, {"USDC": "1000"})
    page = pages.open(f"/trade/{MARKET}")
    sign_in(page, trader.email)
    wait_live(page)
    book_equals_engine(page, pages.stack, MARKET)
    wait_for(lambda: balance(page, "USDC") == ("1000.000000", "0.000000"), "the balances")

    # The browser logs each refused connection while the server is away.
    pages.watch.allow(r"WebSocket connection to .* failed")
    ws_restart.kill()
    expect(page.get_by_role("status", name="Connection: Live")).to_have_count(0)
    reconnecting = re.compile("^Connection: Reconnecting")
    expect(page.get_by_role("status", name=reconnecting)).to_be_attached()
    book = region(page, "Order book")
    expect(book).to_have_attribute("data-state", "stale")
    expect(
        book.get_by_text("Connection lost: this book is not live. Reconnecting…")
    ).to_be_visible()
    expect(book.get_by_role("status")).to_have_text("Not live: reconnecting")

    # The book moves while the page cannot see it.
    price = f"{quotes(pages.stack, MARKET).below - Decimal('0.37'):.2f}"
    trader.place(side="buy", price=price, quantity="0.25", market=MARKET)
    page.wait_for_timeout(1500)
    expect(book).to_have_attribute("data-state", "stale")

    ws_restart.start()
    wait_live(page)  # within the backoff's delay
    book_equals_engine(page, pages.stack, MARKET)
    wait_for(
        lambda: balance(page, "USDC") == tuple(f"{v:.6f}" for v in trader.balances()["USDC"]),
        "the balances read again",
    )
    # Private streams are back: a cancel from elsewhere shows in the balances live.
    (order,) = trader.get("/api/v1/orders/open")
    with trader.http() as http:
        assert http.delete(f"/api/v1/order/{order['orderId']}").status_code == 200
    wait_for(lambda: balance(page, "USDC") == ("1000.000000", "0.000000"), "the lock released")
