"""The WebSocket server as a real process, and a small client for tests: requests answered by
id, stream messages collected in order, the depth sync procedure of the README."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, cast

from websockets.asyncio.client import ClientConnection, connect

from tests.servers import free_port

JWT_SECRET = "a websocket test secret long enough for HS256"


class WsProcess:
    """`python -m cryptex_ws` on free ports, stopped by pid."""

    def __init__(self, redis_url: str, log_dir: Path, **settings: str) -> None:
        self.port = free_port()
        self.metrics_port = free_port()
        self.log_path = log_dir / "ws.log"
        self.env = {
            **os.environ,
            "CRYPTEX_REDIS_URL": redis_url,
            "CRYPTEX_PORT": str(self.port),
            "CRYPTEX_METRICS_HOST": "127.0.0.1",
            "CRYPTEX_METRICS_PORT": str(self.metrics_port),
            "CRYPTEX_JWT_SECRET": JWT_SECRET,
            "CRYPTEX_MARKETS_REFRESH_S": "0.2",
            "CRYPTEX_LOG_LEVEL": "INFO",
            **{f"CRYPTEX_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "cryptex_ws"], env=self.env, stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while True:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"ws server did not start: {self.log_path.read_text()[-3000:]}")
            try:
                if self.http("/healthz", self.metrics_port)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)

    def http(self, path: str, port: int | None = None) -> tuple[int, str]:
        url = f"http://127.0.0.1:{port or self.port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return response.status, cast(bytes, response.read()).decode()
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode()

    def metric(self, name: str) -> float:
        """The sum of a metric's samples whose line starts with `name` (labels included)."""
        _, text = self.http("/metrics", self.metrics_port)
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith(name) and not line.startswith("#")
        )

    def stop(self) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(signal.SIGTERM)
        try:
            code = self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        self.process = None
        return code


class Client:
    """One connection: `request()` waits for the reply with its id; stream messages are kept in
    arrival order in `messages` (and by stream in `streams`)."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.replies: dict[object, dict[str, Any]] = {}
        self.unsolicited: list[dict[str, Any]] = []  # errors with id null
        self.messages: list[dict[str, Any]] = []
        self._next_id = 0
        self._arrived = asyncio.Event()
        self._reader = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, url: str, **options: Any) -> Client:
        return cls(await connect(url, **options))

    async def _read(self) -> None:
        async for raw in self.ws:
            message = json.loads(raw)
            if "stream" in message:
                self.messages.append(message)
            elif message.get("id") is None:
                self.unsolicited.append(message)
            else:
                self.replies[message["id"]] = message
            self._arrived.set()

    async def send(self, message: object) -> None:
        await self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))

    async def request(
        self, method: str, params: list[Any] | None = None, timeout: float = 5
    ) -> dict[str, Any]:
        self._next_id += 1
        request_id = self._next_id
        body: dict[str, Any] = {"method": method, "id": request_id}
        if params is not None:
            body["params"] = params
        await self.send(body)
        return await self.reply(request_id, timeout)

    async def reply(self, request_id: object, timeout: float = 5) -> dict[str, Any]:
        await self.until(lambda: request_id in self.replies, timeout)
        return self.replies.pop(request_id)

    async def subscribe(self, *streams: str) -> None:
        reply = await self.request("SUBSCRIBE", list(streams))
        assert reply == {"result": None, "id": reply["id"]}, reply

    async def until(self, condition: Any, timeout: float = 10) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while not condition():
            if self._reader.done():
                self._reader.result()  # raises how the connection ended
                raise AssertionError("the connection closed")
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError("condition not met in time")
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._arrived.wait(), remaining)

    def data(self, stream: str) -> list[Any]:
        return [m["data"] for m in self.messages if m["stream"] == stream]

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()


async def read_until_closed(ws: ClientConnection, into: list[str | bytes]) -> None:
    """Receive into `into` until the connection closes (ConnectionClosed), 10 s at most each."""
    while True:
        into.append(await asyncio.wait_for(ws.recv(), 10))


class BookFollower:
    """A client's order book kept by the documented procedure: buffer diffs until the snapshot,
    drop those with u <= lastUpdateId, the first applied has U <= lastUpdateId + 1 <= u, each
    next one U == previous u + 1. A quantity of zero removes the level."""

    def __init__(self) -> None:
        self.synced = False
        self.last_update_id = 0  # of the snapshot, then of the last applied diff
        self.bids: dict[str, str] = {}
        self.asks: dict[str, str] = {}
        self.applied = 0
        self._buffer: list[Mapping[str, Any]] = []
        self._first = True

    def on(self, data: Mapping[str, Any]) -> None:
        if data["e"] == "depthSnapshot":
            self.last_update_id = data["lastUpdateId"]
            self.bids = dict(data["bids"])
            self.asks = dict(data["asks"])
            self.synced, self._first = True, True
            buffered, self._buffer = self._buffer, []
            for diff in buffered:
                self._apply(diff)
        elif self.synced:
            self._apply(data)
        else:
            self._buffer.append(data)

    def _apply(self, diff: Mapping[str, Any]) -> None:
        if diff["u"] <= self.last_update_id:
            return
        if self._first:
            assert diff["U"] <= self.last_update_id + 1 <= diff["u"], (diff, self.last_update_id)
            self._first = False
        else:
            assert diff["U"] == self.last_update_id + 1, (diff, self.last_update_id)
        for side, levels in ((self.bids, diff["bids"]), (self.asks, diff["asks"])):
            for price, quantity in levels:
                if Decimal(quantity) == 0:
                    side.pop(price, None)
                else:
                    side[price] = quantity
        self.last_update_id = diff["u"]
        self.applied += 1

    def book(self) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        """(bids best first, asks best first)."""
        return (
            sorted(self.bids.items(), key=lambda level: Decimal(level[0]), reverse=True),
            sorted(self.asks.items(), key=lambda level: Decimal(level[0])),
        )
