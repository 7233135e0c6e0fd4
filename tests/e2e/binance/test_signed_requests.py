"""Signed requests of the Binance-compatible API refuse what an attacker could send: a replay,
a stale or future timestamp, a tampered query, a read key trading, a revoked key (in another API
process too), a key of someone else's; and the secret is shown once. Ed25519 keys sign too.
Every refusal changes nothing."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from urllib.parse import urlencode

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from tests.e2e.binance.conftest import create_api_key
from tests.e2e.harness import StackRun, sign_up
from tests.servers import free_port

ORDER = {"symbol": "ETHUSDC", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC",
         "quantity": "0.01", "price": "1000"}  # fmt: skip


def signed_query(params: dict[str, str], secret: str, timestamp: int | None = None) -> str:
    query = urlencode({**params, "timestamp": timestamp or time.time_ns() // 1_000_000})
    signature = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
    return f"{query}&signature={signature}"


async def call(
    http: httpx.AsyncClient, method: str, path: str, key: str, query: str
) -> httpx.Response:
    return await http.request(method, f"{path}?{query}", headers={"X-MBX-APIKEY": key})


def refused(response: httpx.Response, status: int, code: int) -> None:
    assert (response.status_code, response.json()["code"]) == (status, code), response.text


async def test_replayed_stale_future_and_tampered_requests(stack: StackRun) -> None:
    dana = await sign_up(stack, {"USDC": "100"})
    key = await create_api_key(dana)
    api_key, secret = key["apiKey"], key["secret"]
    async with stack.http() as http:
        query = signed_query({"symbol": "ETHUSDC"}, secret)
        first = await call(http, "GET", "/api/v3/openOrders", api_key, query)
        assert first.status_code == 200, first.text
        assert int(first.headers["X-MBX-USED-WEIGHT-1M"]) > 0
        refused(await call(http, "GET", "/api/v3/openOrders", api_key, query), 400, -1021)

        now = time.time_ns() // 1_000_000
        stale = signed_query({"recvWindow": "5000"}, secret, now - 6_000)
        refused(await call(http, "GET", "/api/v3/account", api_key, stale), 400, -1021)
        future = signed_query({}, secret, now + 5_000)
        refused(await call(http, "GET", "/api/v3/account", api_key, future), 400, -1021)
        too_wide = signed_query({"recvWindow": "60001"}, secret)
        refused(await call(http, "GET", "/api/v3/account", api_key, too_wide), 400, -1131)

        order = signed_query(ORDER, secret)
        tampered = order.replace("quantity=0.01", "quantity=0.09")
        refused(await call(http, "POST", "/api/v3/order", api_key, tampered), 400, -1022)
        unsigned = urlencode({**ORDER, "timestamp": now})
        refused(await call(http, "POST", "/api/v3/order", api_key, unsigned), 400, -1102)
        refused(await call(http, "POST", "/api/v3/order", "", order), 401, -2014)
        # the body is signed as well: query + body, as Binance defines it
        body_signed = signed_query(ORDER, secret)
        placed = await http.post(
            "/api/v3/order", content=body_signed,
            headers={"X-MBX-APIKEY": api_key,
                     "Content-Type": "application/x-www-form-urlencoded"},
        )  # fmt: skip
        assert placed.status_code == 200, placed.text
        assert placed.json()["status"] == "NEW"
    assert (await dana.balances())["USDC"] == (Decimal("89.98"), Decimal("10.02"))
    await dana.cancel_all()
    await dana.http.aclose()


async def test_keys_permissions_and_listing(stack: StackRun) -> None:
    erin = await sign_up(stack, {"USDC": "100"})
    frank = await sign_up(stack, {"USDC": "100"})
    read = await create_api_key(erin, ("read",))
    trade = await create_api_key(erin)
    listed = (await erin.http.get("/api/v1/apikeys")).json()
    assert [k["apiKey"] for k in listed] == [read["apiKey"], trade["apiKey"]]
    assert all("secret" not in k for k in listed)
    assert [k["permissions"] for k in listed] == [["read"], ["read", "trade"]]
    # Frank sees none of Erin's keys and cannot revoke one
    assert (await frank.http.get("/api/v1/apikeys")).json() == []
    assert (await frank.http.delete(f"/api/v1/apikeys/{trade['apiKey']}")).status_code == 404
    bad = await erin.http.post(
        "/api/v1/apikeys", json={"label": "x", "permissions": ["read"], "type": "ED25519"}
    )
    assert bad.status_code == 400, bad.text

    async with stack.http() as http:
        query = signed_query(ORDER, read["secret"])
        refused(await call(http, "POST", "/api/v3/order", read["apiKey"], query), 401, -2015)
        account = await call(
            http, "GET", "/api/v3/account", read["apiKey"], signed_query({}, read["secret"])
        )
        assert account.json()["canTrade"] is False
        # a key's signature made with another key's secret
        query = signed_query({}, trade["secret"])
        refused(await call(http, "GET", "/api/v3/account", read["apiKey"], query), 400, -1022)

        # Ed25519: the exchange holds only the public key
        private = Ed25519PrivateKey.generate()
        pem = private.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
        ed = await create_api_key(erin, type="ED25519", publicKey=pem.decode())
        assert ed["secret"] is None
        payload = urlencode({"timestamp": time.time_ns() // 1_000_000})
        signature = base64.b64encode(private.sign(payload.encode())).decode()
        query = f"{payload}&{urlencode({'signature': signature})}"
        answer = await call(http, "GET", "/api/v3/account", ed["apiKey"], query)
        assert answer.status_code == 200, answer.text
        assert answer.json()["uid"] == erin.account
    assert await erin.balances() == {"USDC": (Decimal("100"), Decimal("0"))}
    for trader in (erin, frank):
        await trader.http.aclose()


@pytest.fixture
def second_api(stack: StackRun) -> Iterator[str]:
    """Another API process on the same Redis and PostgreSQL, as a second replica."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRYPTEX_")}
    env.update(
        CRYPTEX_REDIS_URL=str(stack.state["redis"]),
        CRYPTEX_DATABASE_URL=str(stack.state["database"]),
        CRYPTEX_PORT=str(port), CRYPTEX_DEV_MODE="true", CRYPTEX_INSTANCE="second-api",
        CRYPTEX_JWT_SECRET=(stack.data / "jwt-secret").read_text().strip(),
        CRYPTEX_METRICS_PORT=str(free_port()),
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "cryptex_api"], env=env,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the second API process did not start"
            time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


async def test_a_revoked_key_is_refused_by_every_api_process(
    stack: StackRun, second_api: str
) -> None:
    gina = await sign_up(stack, {"USDC": "100"})
    key = await create_api_key(gina)
    async with httpx.AsyncClient(base_url=second_api, timeout=10) as other:
        query = signed_query({}, key["secret"])
        answer = await call(other, "GET", "/api/v3/account", key["apiKey"], query)
        assert answer.status_code == 200, answer.text
        revoked = await gina.http.delete(f"/api/v1/apikeys/{key['apiKey']}")
        assert revoked.status_code == 204
        query = signed_query({}, key["secret"])
        refused(await call(other, "GET", "/api/v3/account", key["apiKey"], query), 401, -2015)
    assert (await gina.http.get("/api/v1/apikeys")).json() == []
    await gina.http.aclose()
