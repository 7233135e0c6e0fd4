"""The market maker as a real process (`python -m cryptex_mm`), a second API process to restart or
rate-limit without touching the shared one, a price feed to move, and accounts that read what
the bot did through the public API, as any client would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, cast

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.integration.api.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, JWT_SECRET
from tests.servers import free_port

PASSWORD = "market maker password"


def wait_until(condition: Callable[[], object], timeout: float = 20, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"not in {timeout} s: {what or condition}")
        time.sleep(0.05)


def read_metric(text: str, name: str, **labels: str) -> float:
    """The sum of the samples called `name` (`_total` included) whose labels include these."""
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status, cast(bytes, response.read()).decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


class ApiProcess:
    """`python -m cryptex_api` on a free port over the shared stack's Redis and PostgreSQL."""

    def __init__(self, redis_url: str, database_url: str, log_dir: Path, **settings: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_dir / f"api-{self.port}.log"
        self.settings = settings
        self.env = {
            **os.environ,
            "CRYPTEX_REDIS_URL": redis_url,
            "CRYPTEX_DATABASE_URL": database_url,
            "CRYPTEX_PORT": str(self.port),
            "CRYPTEX_JWT_SECRET": JWT_SECRET,
            "CRYPTEX_BOOTSTRAP_ADMIN_EMAIL": ADMIN_EMAIL,
            "CRYPTEX_BOOTSTRAP_ADMIN_PASSWORD": ADMIN_PASSWORD,
            "CRYPTEX_LOGINS_PER_MINUTE": "600",
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, **settings: str) -> None:
        env = {**self.env, "CRYPTEX_INSTANCE": f"api-mm-{uuid.uuid4().hex[:6]}"}
        env |= {f"CRYPTEX_{k.upper()}": v for k, v in {**self.settings, **settings}.items()}
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cryptex_api"], env=env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 30
        while True:
            try:
                if _get(f"{self.url}/readyz")[0] == 200:
                    return
            except OSError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the API did not start: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)
            self.process = None

    def metric(self, name: str, **labels: str) -> float:
        return read_metric(_get(f"{self.url}/metrics")[1], name, **labels)


class MmProcess:
    """`python -m cryptex_mm` with `CRYPTEX_MM_*` settings, stopped by pid."""

    def __init__(self, log_dir: Path, **settings: str) -> None:
        self.metrics_port = free_port()
        self.log_path = log_dir / f"mm-{self.metrics_port}.log"
        self.env = {
            **os.environ,
            "CRYPTEX_MM_METRICS_HOST": "127.0.0.1",
            "CRYPTEX_MM_METRICS_PORT": str(self.metrics_port),
            "CRYPTEX_MM_PASSWORD": PASSWORD,
            "CRYPTEX_MM_LOG_LEVEL": "DEBUG",
            "PYTHONFAULTHANDLER": "1",
            **{f"CRYPTEX_MM_{k.upper()}": v for k, v in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cryptex_mm"], env=self.env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        wait_until(self._serving, 20, f"the bot's metrics: {self.log_path}")

    def _serving(self) -> bool:
        if self.process is None or self.process.poll() is not None:
            raise RuntimeError(f"the bot exited: {self.log_path.read_text()[-3000:]}")
        try:
            return _get(f"http://127.0.0.1:{self.metrics_port}/metrics")[0] == 200
        except OSError:
            return False

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def health(self) -> int:
        return _get(f"http://127.0.0.1:{self.metrics_port}/healthz")[0]

    def metric(self, name: str, **labels: str) -> float:
        return read_metric(_get(f"http://127.0.0.1:{self.metrics_port}/metrics")[1], name, **labels)

    def stop(self, timeout: float = 20) -> int:
        """SIGTERM, then the exit code."""
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.send_signal(signal.SIGABRT)  # faulthandler writes every stack to the log
            self.process.wait()
            raise
        self.process = None
        return code

    def log(self) -> list[dict[str, Any]]:
        lines = []
        for line in self.log_path.read_text().splitlines():
            try:
                lines.append(json.loads(line))
            except ValueError:
                continue
        return lines


class PriceFeed:
    """`GET /<anything>` answers `{"price": "<the price>"}`: an HTTP price feed to move."""

    def __init__(self, price: str) -> None:
        self.price = price
        self.requests = 0
        feed = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                feed.requests += 1
                body = json.dumps({"price": feed.price}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/price/{{symbol}}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Account:
    """An account seen through the public API (the bot's, read by the test; or a taker's)."""

    email: str
    id: int
    http: httpx.Client

    def open_orders(self, market: str = "SOL_USDC") -> list[dict[str, Any]]:
        answer = self.http.get("/api/v1/orders/open", params={"market": market})
        assert answer.status_code == 200, answer.text
        return cast(list[dict[str, Any]], answer.json())

    def book(self, market: str = "SOL_USDC") -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """Own (price, quantity) bids best first, asks best first."""
        orders = self.open_orders(market)
        bids = [(o["price"], o["quantity"]) for o in orders if o["side"] == "BUY"]
        asks = [(o["price"], o["quantity"]) for o in orders if o["side"] == "SELL"]
        bids.sort(key=lambda level: Decimal(level[0]), reverse=True)
        asks.sort(key=lambda level: Decimal(level[0]))
        return bids, asks

    def balances(self) -> dict[str, tuple[str, str]]:
        answer = self.http.get("/api/v1/balances")
        assert answer.status_code == 200, answer.text
        return {b["asset"]: (b["free"], b["locked"]) for b in answer.json()}

    def cancel_all(self) -> None:
        for order in self.http.get("/api/v1/orders/open").json():
            self.http.delete(f"/api/v1/order/{order['orderId']}")


def can_sign_in(url: str, email: str, password: str = PASSWORD) -> bool:
    with httpx.Client(base_url=url, timeout=10) as anonymous:
        signed = anonymous.post("/api/v1/signin", json={"email": email, "password": password})
    return signed.status_code == 200


def sign_in(url: str, email: str, password: str = PASSWORD) -> Account | None:
    with httpx.Client(base_url=url, timeout=10) as anonymous:
        signed = anonymous.post("/api/v1/signin", json={"email": email, "password": password})
    if signed.status_code != 200:
        return None
    token = signed.json()["token"]
    http = httpx.Client(base_url=url, timeout=10, headers={"Authorization": f"Bearer {token}"})
    return Account(email, signed.json()["accountId"], http)


def new_account(url: str) -> Account:
    email = f"mm-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=url, timeout=10) as anonymous:
        created = anonymous.post("/api/v1/signup", json={"email": email, "password": PASSWORD})
    assert created.status_code == 201, created.text
    account = sign_in(url, email)
    assert account is not None
    return account
