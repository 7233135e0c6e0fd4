"""Whatever a client sends, it gets an answer and the connection stays open: malformed frames,
wrong shapes, unknown streams and markets, too many subscriptions. Only abuse closes it: a
frame past the protocol limit (1009) or a flood past the message rate limit (1008)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import pytest
import redis
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.integration.ws.harness import Client, WsProcess, read_until_closed

BAD = [
    ("not json", None, -1100, "malformed JSON"),
    ('{"method": "SUBSCRIBE", "params": ["depth@SOL_USDC"], "id": 1', None, -1100, "malformed"),
    ("[1, 2]", None, -1100, "a request is a JSON object"),
    ('"SUBSCRIBE"', None, -1100, "a request is a JSON object"),
    ('{"params": ["depth@SOL_USDC"], "id": 7}', 7, -1102, "method: is required"),
    ('{"method": "PUBLISH", "id": 8}', 8, -1100, "unknown method 'PUBLISH'"),
    ('{"method": 5, "id": 9}', 9, -1100, "unknown method 5"),
    ('{"method": "SUBSCRIBE", "params": "depth@SOL_USDC", "id": 10}', 10, -1100, "params"),
    ('{"method": "SUBSCRIBE", "params": [], "id": 11}', 11, -1102, "at least one stream"),
    ('{"method": "SUBSCRIBE", "params": [42], "id": 12}', 12, -1100, "must be a string"),
    ('{"method": "SUBSCRIBE", "params": ["depth@SOL_USDC"], "id": true}', None, -1100, "id:"),
    ('{"method": "SUBSCRIBE", "params": ["x"], "id": 13, "extra": 1}', 13, -1100, "'extra'"),
    ('{"method": "SUBSCRIBE", "params": ["depth@DOGE_USDC"], "id": 14}', 14, -1121, "DOGE_USDC"),
    ('{"method": "SUBSCRIBE", "params": ["depth@nonsense"], "id": 15}', 15, -1121, "symbol"),
    ('{"method": "SUBSCRIBE", "params": ["candles@SOL_USDC"], "id": 16}', 16, -1100, "unknown"),
    ('{"method": "SUBSCRIBE", "params": ["depthSOL_USDC"], "id": 17}', 17, -1100, "unknown"),
    ('{"method": "SUBSCRIBE", "params": ["kline_2m@SOL_USDC"], "id": 18}', 18, -1120, "2m"),
    ('{"method": "SUBSCRIBE", "params": ["orders@SOL_USDC"], "id": 19}', 19, -1100, "orders@me"),
    ('{"method": "SUBSCRIBE", "params": ["orders@me"], "id": 20}', 20, -1002, "AUTH first"),
    ('{"method": "AUTH", "params": ["not.a.jwt"], "id": 21}', 21, -1002, "invalid"),
    ('{"method": "AUTH", "params": [], "id": 22}', 22, -1100, "<token>"),
    ('{"method": "LIST_SUBSCRIPTIONS", "params": ["x"], "id": 23}', 23, -1100, "takes none"),
    ('{"method": "SUBSCRIBE", "params": ["' + "x" * 5000 + '"], "id": 24}', None, -1006, "4096"),
    (b"\x00\x01binary", None, -1100, "binary frames"),
]


async def test_a_bad_request_gets_an_error_and_the_connection_stays(
    ws: WsProcess, open_client: Callable[[], Awaitable[Client]]
) -> None:
    client = await open_client()
    for frame, request_id, code, words in BAD:
        await client.send(frame)
        if request_id is None:
            await client.until(lambda: client.unsolicited)
            reply = client.unsolicited.pop()
        else:
            reply = await client.reply(request_id)
        assert reply["id"] == request_id, (frame, reply)
        assert reply["error"]["code"] == code, (frame, reply)
        assert words in reply["error"]["msg"], (frame, reply)
    await client.subscribe("depth@SOL_USDC")  # still open, still served
    assert await client.request("LIST_SUBSCRIPTIONS") == {"result": ["depth@SOL_USDC"], "id": 2}


async def test_string_ids_are_echoed(
    ws: WsProcess, open_client: Callable[[], Awaitable[Client]]
) -> None:
    client = await open_client()
    await client.send({"method": "SUBSCRIBE", "params": ["ticker@SOL-USDC"], "id": "abc"})
    assert await client.reply("abc") == {"result": None, "id": "abc"}


async def test_subscriptions_per_connection_are_limited(
    listed: redis.Redis, start_ws: Callable[..., WsProcess]
) -> None:
    ws = start_ws(max_subscriptions="3")
    client = await Client.open(ws.url)
    await client.subscribe("trades@SOL_USDC", "depth@SOL_USDC")
    reply = await client.request("SUBSCRIBE", ["ticker@SOL_USDC", "kline_1m@SOL_USDC"])
    assert reply["error"]["code"] == -1101
    assert await client.request("LIST_SUBSCRIPTIONS") == {
        "result": ["depth@SOL_USDC", "trades@SOL_USDC"], "id": 3,
    }  # fmt: skip
    await client.subscribe("ticker@SOL_USDC", "trades@sol_usdc")  # one new: within the limit
    await client.close()


async def test_a_frame_past_the_protocol_limit_closes_with_1009(
    ws: WsProcess, open_client: Callable[[], Awaitable[Client]]
) -> None:
    bystander = await open_client()
    await bystander.subscribe("depth@SOL_USDC")
    async with connect(ws.url, max_size=None) as abuser:
        await abuser.send("x" * 100_000)
        with pytest.raises(ConnectionClosed) as closed:
            await asyncio.wait_for(abuser.recv(), 5)
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1009
    assert await bystander.request("LIST_SUBSCRIPTIONS") == {"result": ["depth@SOL_USDC"], "id": 2}


async def test_a_flood_is_refused_then_disconnected(
    listed: redis.Redis, start_ws: Callable[..., WsProcess]
) -> None:
    ws = start_ws(messages_per_second="5", message_burst="10")
    async with connect(ws.url) as flooder:
        request = json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 1})
        for _ in range(10):  # the burst
            await flooder.send(request)
        for _ in range(10):
            assert json.loads(await flooder.recv()) == {"result": [], "id": 1}
        await flooder.send(request)
        refused = json.loads(await flooder.recv())
        assert refused["error"]["code"] == -1003
        for _ in range(30):
            await flooder.send(request)
        with pytest.raises(ConnectionClosed) as closed:
            await read_until_closed(flooder, [])
    assert closed.value.rcvd is not None
    assert (closed.value.rcvd.code, closed.value.rcvd.reason) == (
        1008, "message rate limit exceeded",
    )  # fmt: skip
    assert ws.metric('cryptex_ws_disconnects_total{reason="rate_limit"}') == 1
