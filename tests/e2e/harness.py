"""The whole stack as processes, through the program people run (`hack/stack/stack.py`): up in
a temp data dir on free ports, down, up again from the same dir; and traders that use it only
through its public REST and WebSocket APIs (and `cryptex-audit`, as an operator would)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from tests.integration.ws.harness import Client

ROOT = Path(__file__).resolve().parents[2]
STACK = ROOT / "hack" / "stack" / "stack.py"
PASSWORD = "e2e trader password"
UP_TIMEOUT_S = 180


class StackRun:
    """One data dir, its stack started and stopped with `stack.py` as a user would."""

    def __init__(self, *options: str) -> None:
        # Not under pytest's tmp dirs: as root, PostgreSQL runs as the `postgres` user, which
        # must reach its data dir.
        self.data = Path(tempfile.mkdtemp(prefix="cryptex-e2e-"))
        self.data.chmod(0o755)
        self.options = options
        self.state: dict[str, Any] = {}

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        # A developer's CRYPTEX_REDIS_URL or CRYPTEX_DATABASE_URL must not point this stack at
        # their servers.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTEX_")}
        done = subprocess.run(
            [sys.executable, str(STACK), *args, "--data-dir", str(self.data)],
            capture_output=True, text=True, env=env, timeout=UP_TIMEOUT_S, check=False,
        )  # fmt: skip
        if check and done.returncode != 0:
            raise AssertionError(
                f"stack.py {' '.join(args)} exited {done.returncode}:\n{done.stderr}\n"
                f"{done.stdout}\n{self.log_tails()}"
            )
        return done

    def up(self, *extra: str) -> None:
        """Detached, so the test goes on once every service is healthy. Ports: free ones the
        first time, then the same ones again (stack.py keeps them in the data dir)."""
        first = not (self.data / "ports.json").exists()
        ports = ("--free-ports",) if first else ()
        self.run("up", "--detach", "--no-install", *ports, *self.options, *extra)
        self.state = json.loads((self.data / "stack.json").read_text())

    def down(self) -> None:
        self.run("down")

    def status(self) -> dict[str, Any]:
        status: dict[str, Any] = json.loads(self.run("status", "--json", check=False).stdout)
        return status

    def remove(self) -> None:
        self.run("down", check=False)
        shutil.rmtree(self.data, ignore_errors=True)

    def log_tails(self, lines: int = 20) -> str:
        out = []
        for log in sorted((self.data / "logs").glob("*.log")):
            tail = log.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {log.name}\n" + "\n".join(tail))
        return "\n".join(out)

    @property
    def api(self) -> str:
        return str(self.state["api"])

    @property
    def ws(self) -> str:
        return str(self.state["ws"])

    @property
    def admin_token(self) -> str:
        return str(self.state["admin"]["token"])

    def http(self, token: str | None = None) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.api, headers=headers, timeout=10)

    async def ws_client(self, token: str | None = None, account: int | None = None) -> Client:
        client = await Client.open(self.ws)
        if token is not None:
            reply = await client.request("AUTH", [token])
            assert reply["result"] == {"accountId": account}, reply
        return client

    def audit(self) -> dict[str, Any]:
        """`cryptex-audit` against the stack's Redis, as an operator runs it; exit 0 is a pass."""
        script = Path(sys.executable).with_name("cryptex-audit")
        env = {**os.environ, "CRYPTEX_REDIS_URL": str(self.state["redis"])}
        done = subprocess.run(
            [str(script)], capture_output=True, text=True, env=env, timeout=60, check=False
        )
        report: dict[str, Any] = json.loads(done.stdout)
        assert done.returncode == 0, report["problems"]
        assert report["ok"]
        return report


@dataclass
class Trader:
    account: int
    email: str
    token: str
    http: httpx.AsyncClient

    async def place(self, side: str, price: str, quantity: str, market: str, **extra: Any) -> Any:
        body = {"side": side, "type": "limit", "price": price, "quantity": quantity,
                "market": market, **extra}  # fmt: skip
        response = await self.http.post("/api/v1/order", json=body)
        assert response.status_code == 200, response.text
        return response.json()

    async def cancel(self, order_id: int) -> Any:
        response = await self.http.delete(f"/api/v1/order/{order_id}")
        assert response.status_code == 200, response.text
        return response.json()

    async def get(self, path: str, **params: Any) -> Any:
        response = await self.http.get(path, params=params)
        assert response.status_code == 200, response.text
        return response.json()

    async def totals(self) -> dict[str, Decimal]:
        """free + locked of each asset."""
        return {b["asset"]: Decimal(b["free"]) + Decimal(b["locked"])
                for b in await self.get("/api/v1/balances")}  # fmt: skip

    async def balances(self) -> dict[str, tuple[Decimal, Decimal]]:
        return {b["asset"]: (Decimal(b["free"]), Decimal(b["locked"]))
                for b in await self.get("/api/v1/balances")}  # fmt: skip

    async def cancel_all(self) -> None:
        for order in await self.get("/api/v1/orders/open"):
            await self.http.delete(f"/api/v1/order/{order['orderId']}")


async def sign_up(stack: StackRun, funds: dict[str, str]) -> Trader:
    """A new account, signed in, and funded by the admin's deposits."""
    email = f"trader-{uuid.uuid4().hex[:10]}@example.com"
    credentials = {"email": email, "password": PASSWORD}
    async with stack.http() as anonymous:
        created = await anonymous.post("/api/v1/signup", json=credentials)
        assert created.status_code == 201, created.text
        signed = await anonymous.post("/api/v1/signin", json=credentials)
        assert signed.status_code == 200, signed.text
    account, token = created.json()["accountId"], signed.json()["token"]
    async with stack.http(stack.admin_token) as admin:
        for asset, amount in funds.items():
            transfer = {"account": account, "asset": asset, "amount": amount,
                        "reference": f"e2e-{uuid.uuid4().hex}"}  # fmt: skip
            done = await admin.post("/api/v1/admin/deposits", json=transfer)
            assert done.status_code == 200, done.text
    return Trader(account, email, token, stack.http(token))


async def sign_in_again(stack: StackRun, trader: Trader) -> str:
    async with stack.http() as anonymous:
        signed = await anonymous.post(
            "/api/v1/signin", json={"email": trader.email, "password": PASSWORD}
        )
    assert signed.status_code == 200, signed.text
    token: str = signed.json()["token"]
    return token
