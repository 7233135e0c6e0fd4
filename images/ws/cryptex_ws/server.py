"""The server: websockets on the event loop (uvloop from `__main__`), one Redis feed, one
balances pusher, one user data pusher, `/metrics` and `/healthz` on their own port (and
`/healthz` on the WebSocket port too, for probes that only know that one). SIGTERM closes every
connection with 1001.

Paths: `/` and `/ws` (Cryptex's protocol, Binance's streams too); Binance's `/ws/<stream>` (or
`/ws/<listenKey>`; any other tail without `@` names nothing, as ccxt's `/ws/0`), `/stream?
streams=a/b`, and `/ws-api/v3`. Streams named in a path are checked before the handshake: an
unknown one is refused with HTTP 400 and says why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
import weakref
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import parse_qs, urlsplit

from prometheus_client import CollectorRegistry
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from cryptex import keys, metrics
from cryptex.redis_access import connect_async
from cryptex.signing import ApiKeyRecords
from cryptex.tokens import Tokens
from cryptex_ws.balances import BalancePusher
from cryptex_ws.directory import MarketDirectory
from cryptex_ws.errors import RequestError
from cryptex_ws.fanout import Hub
from cryptex_ws.feed import MarketFeed
from cryptex_ws.metrics import DROP_MAX_CONNECTIONS, WsMetrics
from cryptex_ws.session import Framing, ServerContext, Session, parse_stream
from cryptex_ws.settings import WsSettings
from cryptex_ws.snapshots import DepthSnapshots
from cryptex_ws.streams import Stream
from cryptex_ws.user_data import UserDataPusher
from cryptex_ws.wsapi import WsApiSession

log = logging.getLogger("cryptex.ws")


WS_API_PATH: Final = "/ws-api/v3"
MIN_LISTEN_KEY_LENGTH: Final = 32  # shorter path tails without `@` name nothing (ccxt's /ws/0)
_REASONS: Final = {200: "OK", 400: "Bad Request", 503: "Service Unavailable"}


def _plain(status: int, text: str) -> Response:
    body = text.encode()
    headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return Response(status, _REASONS[status], headers, body)


@dataclass
class Plan:
    """What a connection's path asks for, checked before its handshake."""

    framing: Framing = Framing.NATIVE
    api: bool = False  # /ws-api/v3
    streams: list[Stream] = field(default_factory=list)
    listen_key: str = ""
    account: int = 0  # the listenKey's


def path_names(path: str) -> tuple[Framing, bool, list[str]]:
    """The framing a path asks for, whether it is the WebSocket API, and the names in it."""
    parts = urlsplit(path)
    if parts.path == WS_API_PATH:
        return Framing.NATIVE, True, []
    if parts.path in ("/stream", "/stream/"):
        names = [n for v in parse_qs(parts.query).get("streams", []) for n in v.split("/")]
        return Framing.COMBINED, False, [n for n in names if n]
    if parts.path.startswith("/ws/"):
        return Framing.RAW, False, [n for n in parts.path[4:].split("/") if n]
    return Framing.NATIVE, False, []


async def run(settings: WsSettings) -> None:
    """Serve until SIGTERM or SIGINT."""
    if logging.getLogger().level > logging.DEBUG:
        # A line per connection opened and closed would drown the service's own lines.
        logging.getLogger("websockets").setLevel(logging.WARNING)
    registry = CollectorRegistry()
    ws_metrics = WsMetrics(registry)
    client = connect_async(settings.redis_url)
    hub = Hub(settings.send_queue_bytes, ws_metrics, settings.max_flush_linger_ms / 1000)
    markets = MarketDirectory()
    ws_metrics.markets.set_function(lambda: len(markets.ready))
    balances = BalancePusher(client, hub, markets.assets, settings.balances_debounce_ms / 1000)
    snapshots = DepthSnapshots(client)
    user_data = UserDataPusher(client, hub, markets.assets, lambda: time.time_ns() // 1_000_000)
    feed = MarketFeed(
        client, hub, markets, balances, snapshots, ws_metrics, settings.markets_refresh_s,
        user_data,
    )  # fmt: skip
    key_secret = settings.api_key_encryption_secret or settings.jwt_secret
    ctx = ServerContext(
        settings=settings,
        hub=hub,
        markets=markets,
        snapshots=snapshots,
        balances=balances,
        tokens=Tokens(settings.jwt_secret, 0) if settings.jwt_secret else None,
        metrics=ws_metrics,
        redis=client,
        api_keys=ApiKeyRecords(client, key_secret) if key_secret else None,
    )
    # A connection's plan, from its handshake to its handler (gone with a failed handshake).
    plans: weakref.WeakKeyDictionary[ServerConnection, Plan] = weakref.WeakKeyDictionary()

    async def handler(connection: ServerConnection) -> None:
        plan = plans.pop(connection, Plan())
        client = hub.add(connection, connection.protocol, connection.transport)
        if plan.api:
            session: Session = WsApiSession(ctx, client)
        else:
            session = Session(ctx, client, plan.framing)
            if plan.listen_key:
                session.follow_listen_key(plan.listen_key, plan.account)
            if plan.streams:
                try:
                    await session.add(plan.streams, None)
                except RequestError as refused:  # delisted since the handshake
                    await connection.close(1008, refused.msg[:120])
                    hub.remove(client)
                    return
        await session.run(connection)

    async def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            healthy = feed.healthy()
            return _plain(200 if healthy else 503, "ok\n" if healthy else "unhealthy\n")
        if len(hub.clients) >= settings.max_connections:
            ws_metrics.disconnects.labels(DROP_MAX_CONNECTIONS).inc()
            return _plain(503, "too many connections\n")
        framing, api, names = path_names(request.path)
        plan = Plan(framing, api)
        for name in names:
            if "@" not in name:
                if len(name) < MIN_LISTEN_KEY_LENGTH:
                    continue
                if framing is Framing.COMBINED or plan.listen_key:
                    return _plain(400, "one listenKey per connection, at /ws/<listenKey>\n")
                owner = await client.get(keys.listen_key(name))
                if owner is None:
                    return _plain(400, "This listenKey does not exist.\n")
                plan.listen_key, plan.account = name, int(owner)
                continue
            try:
                plan.streams.append(parse_stream(name, markets, framing))
            except RequestError as refused:
                return _plain(400, f"Invalid request: {refused.msg}\n")
            if plan.streams[-1].kind.private:
                return _plain(400, f"Invalid request: {name} is private: not in a path\n")
        if len(plan.streams) > settings.max_subscriptions:
            return _plain(400, f"at most {settings.max_subscriptions} streams\n")
        if names or api:
            plans[connection] = plan
        return None

    http = metrics.serve(registry, settings.metrics_host, settings.metrics_port, feed.healthy)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    failed: list[BaseException] = []

    async def close_idle() -> None:
        while True:
            await asyncio.sleep(settings.idle_timeout_s / 4)
            hub.close_idle(settings.idle_timeout_s)

    tasks = [
        asyncio.create_task(feed.run(), name="feed"),
        asyncio.create_task(balances.run(), name="balances"),
        asyncio.create_task(user_data.run(), name="user-data"),
        asyncio.create_task(close_idle(), name="idle"),
    ]
    try:
        async with serve(
            handler, settings.host, settings.port,
            compression=None,  # one frame for all subscribers needs uncompressed frames
            max_size=settings.max_frame_bytes,
            ping_interval=settings.ping_interval_s, ping_timeout=settings.ping_timeout_s,
            close_timeout=settings.close_timeout_s,
            server_header=None, process_request=process_request,
        ) as server:  # fmt: skip
            port = next(iter(server.sockets)).getsockname()[1]
            log.info("listening", extra={"host": settings.host, "port": port})
            waiting = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait([waiting, *tasks], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            failed = [e for t in done if t is not waiting and (e := t.exception()) is not None]
            log.info("stopping", extra={"connections": len(hub.clients)})
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await client.aclose()
        http.server_close()  # its thread is a daemon: it ends with the process
    if failed:
        raise failed[0]  # a task that must never end did: exit 1, the pod restarts
