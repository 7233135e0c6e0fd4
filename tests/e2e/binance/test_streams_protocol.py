"""Binance's stream protocol on the WebSocket server, with a plain WebSocket client: streams in
the path and by SUBSCRIBE, UNSUBSCRIBE and LIST_SUBSCRIPTIONS, `/stream`'s wrapping, Binance's
payloads and error replies, the listenKey flow (made, kept alive, expired, deleted), and the
WebSocket API's refusal of a bad signature."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import redis.asyncio
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from cryptex import keys
from tests.e2e.binance.conftest import create_api_key
from tests.e2e.harness import StackRun, Trader, sign_up

Message = dict[str, Any]


def _url(stack: StackRun, path: str) -> str:
    return stack.ws.rstrip("/") + path


async def _next(ws: ClientConnection, match: Callable[[Message], bool] = lambda m: True) -> Message:
    """The next message that matches (others are skipped), within 10 s."""
    async with asyncio.timeout(10):
        while True:
            message: Message = json.loads(await ws.recv())
            if match(message):
                return message


@pytest.fixture
async def traders(stack: StackRun) -> AsyncIterator[tuple[Trader, Trader]]:
    maker = await sign_up(stack, {"SOL": "20", "USDC": "5000"})
    taker = await sign_up(stack, {"SOL": "20", "USDC": "5000"})
    yield maker, taker
    for trader in (maker, taker):
        await trader.cancel_all()
        await trader.http.aclose()


async def test_subscribe_unsubscribe_and_list(stack: StackRun) -> None:
    async with connect(_url(stack, "/ws/solusdc@trade")) as ws:
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1}))
        assert await _next(ws) == {"result": ["solusdc@trade"], "id": 1}
        streams = ["ethusdc@depth@100ms", "solusdc@kline_1m"]
        await ws.send(json.dumps({"method": "SUBSCRIBE", "id": 2, "params": streams}))
        assert await _next(ws) == {"result": None, "id": 2}
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
        assert await _next(ws) == {
            "result": ["ethusdc@depth@100ms", "solusdc@kline_1m", "solusdc@trade"], "id": 3,
        }  # fmt: skip
        await ws.send(json.dumps({"method": "UNSUBSCRIBE", "params": ["solusdc@trade"], "id": 4}))
        assert await _next(ws) == {"result": None, "id": 4}
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 5}))
        assert await _next(ws) == {"result": ["ethusdc@depth@100ms", "solusdc@kline_1m"], "id": 5}


async def test_bad_requests_get_binances_errors(stack: StackRun) -> None:
    async with connect(_url(stack, "/ws/0")) as ws:  # a tail without @ names nothing (ccxt's)
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["dogeusdc@trade"], "id": 1}))
        reply = await _next(ws)
        assert (reply["id"], reply["error"]["code"]) == (1, 2)
        assert "Invalid request: unknown symbol 'dogeusdc'" in reply["error"]["msg"]
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["solusdc@depth7"], "id": 2}))
        reply = await _next(ws)
        assert (reply["id"], reply["error"]["code"]) == (2, 2)
        assert "unknown stream 'solusdc@depth7'" in reply["error"]["msg"]
        await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["solusdc@kline_7m"], "id": 3}))
        assert "unknown kline interval '7m'" in (await _next(ws))["error"]["msg"]
        await ws.send(json.dumps({"method": "PUBLISH", "params": [], "id": 4}))
        reply = await _next(ws)
        assert (reply["id"], reply["error"]["code"]) == (4, 2)
        await ws.send('{"method": "SUBSCRIBE", "params": [')
        reply = await _next(ws)
        assert reply["error"]["code"] == 3
        assert reply["error"]["msg"].startswith("Invalid JSON")
        await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 5}))
        assert await _next(ws) == {"result": [], "id": 5}  # still open
    for path in ("/ws/dogeusdc@trade", "/ws/solusdc@trades", "/stream?streams=solusdc@depth3"):
        with pytest.raises(InvalidStatus) as refused:
            async with connect(_url(stack, path)):
                pass
        assert refused.value.response.status_code == 400
        assert b"Invalid request" in refused.value.response.body


async def test_raw_and_combined_payloads(stack: StackRun, traders: tuple[Trader, Trader]) -> None:
    maker, taker = traders
    streams = "solusdc@trade/solusdc@aggTrade/solusdc@depth/solusdc@bookTicker"
    async with (
        connect(_url(stack, "/ws/solusdc@trade")) as raw,
        connect(_url(stack, f"/stream?streams={streams}")) as combined,
    ):
        await asyncio.sleep(0.3)
        book = await maker.get("/api/v3/depth", symbol="SOLUSDC")
        resting = await maker.place("sell", "155.00", "1", "SOL_USDC")
        diff = await _next(combined, lambda m: m["stream"] == "solusdc@depth")
        assert diff["data"]["U"] == book["lastUpdateId"] + 1  # the REST depth's sequence
        assert diff["data"] == {
            "e": "depthUpdate", "E": diff["data"]["E"], "s": "SOLUSDC",
            "U": diff["data"]["U"], "u": diff["data"]["u"], "b": [], "a": [["155.00", "1.000"]],
        }  # fmt: skip
        top = await _next(combined, lambda m: m["stream"] == "solusdc@bookTicker")
        assert top["data"]["u"] == diff["data"]["u"]
        assert (top["data"]["a"], top["data"]["A"]) == ("155.00", "1.000")
        await taker.http.post("/api/v1/order", json={
            "side": "buy", "type": "market", "quantity": "0.25", "market": "SOL_USDC"})  # fmt: skip
        trade = await _next(raw)
        assert trade == {
            "e": "trade", "E": trade["E"], "s": "SOLUSDC", "t": trade["t"], "p": "155.00",
            "q": "0.250", "T": trade["T"], "m": False, "M": True,
        }  # fmt: skip
        assert abs(trade["E"] - time.time() * 1000) < 10_000
        wrapped = await _next(combined, lambda m: m["stream"] == "solusdc@trade")
        assert wrapped["data"]["t"] == trade["t"]
        agg = await _next(combined, lambda m: m["stream"] == "solusdc@aggTrade")
        assert (agg["data"]["a"], agg["data"]["f"], agg["data"]["l"]) == (trade["t"],) * 3
        await maker.cancel(resting["orderId"])


async def test_partial_depth_and_tickers(stack: StackRun, traders: tuple[Trader, Trader]) -> None:
    maker, taker = traders
    for cents in range(13_000, 13_700, 100):  # seven bids: 130 to 136
        await maker.place("buy", f"{cents // 100}.00", "0.1", "SOL_USDC")
    paths = "solusdc@depth5@100ms/solusdc@miniTicker/solusdc@ticker"
    async with connect(_url(stack, f"/stream?streams={paths}")) as ws:
        partial = await _next(ws, lambda m: m["stream"] == "solusdc@depth5@100ms")
        rest = await maker.get("/api/v3/depth", symbol="SOLUSDC", limit=5)
        assert partial["data"] == rest
        assert len(partial["data"]["bids"]) == 5
        await taker.place("sell", "136.00", "0.1", "SOL_USDC")  # takes the best bid
        seen: dict[str, Message] = {}
        while len(seen) < 2:
            message = await _next(ws, lambda m: m["stream"] != "solusdc@depth5@100ms")
            seen[message["stream"]] = message
        mini, full = seen["solusdc@miniTicker"], seen["solusdc@ticker"]
        assert (mini["data"]["e"], mini["data"]["c"]) == ("24hrMiniTicker", "136.00")
        assert (full["data"]["e"], full["data"]["c"], full["data"]["Q"]) == (
            "24hrTicker", "136.00", "0.100",
        )  # fmt: skip
        assert (full["data"]["b"], full["data"]["B"]) == ("135.00", "0.100")


async def _listen_key(stack: StackRun, api_key: str) -> str:
    async with httpx.AsyncClient(base_url=stack.api, timeout=10) as http:
        made = await http.post("/api/v3/userDataStream", headers={"X-MBX-APIKEY": api_key})
    assert made.status_code == 200, made.text
    listen_key: str = made.json()["listenKey"]
    return listen_key


async def test_listen_key_flow(stack: StackRun, traders: tuple[Trader, Trader]) -> None:
    maker, _ = traders
    key = await create_api_key(maker, ("read",))
    headers = {"X-MBX-APIKEY": key["apiKey"]}
    listen_key = await _listen_key(stack, key["apiKey"])
    store = redis.asyncio.Redis.from_url(str(stack.state["redis"]))
    async with httpx.AsyncClient(base_url=stack.api, timeout=10, headers=headers) as http:
        async with connect(_url(stack, f"/ws/{listen_key}")) as ws:
            await asyncio.sleep(0.3)
            placed = await maker.place("buy", "120.00", "0.2", "SOL_USDC", clientOrderId="lk-1")
            report = await _next(ws)
            assert (report["e"], report["s"], report["c"], report["x"], report["X"]) == (
                "executionReport", "SOLUSDC", "lk-1", "NEW", "NEW",
            )  # fmt: skip
            assert (report["i"], report["p"], report["q"]) == (
                placed["orderId"], "120.00", "0.200",
            )  # fmt: skip
            position = await _next(ws)
            assert position["e"] == "outboundAccountPosition"
            assert {b["a"] for b in position["B"]} == {"SOL", "USDC"}

            # kept alive: an hour again; an unknown key is Binance's -1125
            await store.pexpire(keys.listen_key(listen_key), 60_000)
            kept = await http.put("/api/v3/userDataStream", params={"listenKey": listen_key})
            assert (kept.status_code, kept.json()) == (200, {})
            assert await store.pttl(keys.listen_key(listen_key)) > 3_500_000
            unknown = await http.put("/api/v3/userDataStream", params={"listenKey": "x" * 60})
            assert (unknown.status_code, unknown.json()["code"]) == (400, -1125)

            # expired: listenKeyExpired, then the connection closes
            await store.pexpire(keys.listen_key(listen_key), 1)
            expired = await _next(ws)
            assert (expired["e"], expired["listenKey"]) == ("listenKeyExpired", listen_key)
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
        with pytest.raises(InvalidStatus):  # gone: no new connection with it
            async with connect(_url(stack, f"/ws/{listen_key}")):
                pass

        # deleted: the same end
        second = await _listen_key(stack, key["apiKey"])
        async with connect(_url(stack, f"/ws/{second}")) as ws:
            deleted = await http.delete("/api/v3/userDataStream", params={"listenKey": second})
            assert (deleted.status_code, deleted.json()) == (200, {})
            assert (await _next(ws))["e"] == "listenKeyExpired"
        no_key = await http.post("/api/v3/userDataStream", headers={"X-MBX-APIKEY": "f" * 64})
        assert (no_key.status_code, no_key.json()["code"]) == (401, -2015)
    await store.aclose()


def _signed(params: dict[str, Any], secret: str) -> dict[str, Any]:
    payload = "&".join(f"{k}={params[k]}" for k in sorted(params))
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {**params, "signature": signature}


async def test_ws_api_signature_checks(stack: StackRun, traders: tuple[Trader, Trader]) -> None:
    maker, _ = traders
    key = await create_api_key(maker, ("read",))
    method = "userDataStream.subscribe.signature"
    async with connect(_url(stack, "/ws-api/v3")) as ws:
        params = {"apiKey": key["apiKey"], "timestamp": int(time.time() * 1000)}
        await ws.send(
            json.dumps({"id": "a", "method": method, "params": _signed(params, "0" * 64)})
        )
        assert await _next(ws) == {"id": "a", "status": 400, "error": {
            "code": -1022, "msg": "Signature for this request is not valid."}}  # fmt: skip
        stale = {"apiKey": key["apiKey"], "timestamp": int(time.time() * 1000) - 60_000}
        await ws.send(json.dumps({"id": "b", "method": method,
                                  "params": _signed(stale, key["secret"])}))  # fmt: skip
        assert (await _next(ws))["error"]["code"] == -1021
        await ws.send(json.dumps({"id": "c", "method": "order.place", "params": {}}))
        assert (await _next(ws))["status"] == 400
        good = _signed({"apiKey": key["apiKey"], "timestamp": int(time.time() * 1000)},
                       key["secret"])  # fmt: skip
        await ws.send(json.dumps({"id": "d", "method": method, "params": good}))
        assert await _next(ws) == {"id": "d", "status": 200, "result": {"subscriptionId": 0}}
        await ws.send(json.dumps({"id": "e", "method": method, "params": good}))
        replayed = await _next(ws)
        assert replayed["status"] == 400  # one subscription per connection, and a replay
        await maker.place("buy", "110.00", "0.1", "SOL_USDC")
        event = await _next(ws, lambda m: "event" in m)
        assert (event["subscriptionId"], event["event"]["e"]) == (0, "executionReport")
        await ws.send(json.dumps({"id": "f", "method": "userDataStream.unsubscribe"}))
        assert await _next(ws, lambda m: m.get("id") == "f") == {
            "id": "f", "status": 200, "result": {}}  # fmt: skip
