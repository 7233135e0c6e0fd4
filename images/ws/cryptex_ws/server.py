"""The server: websockets on the event loop (uvloop from `__main__`), one Redis feed, one
balances pusher, `/metrics` and `/healthz` on their own port (and `/healthz` on the WebSocket
port too, for probes that only know that one). SIGTERM closes every connection with 1001."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from prometheus_client import CollectorRegistry
from websockets.asyncio.server import ServerConnection, serve
from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from cryptex import metrics
from cryptex.redis_access import connect_async
from cryptex.tokens import Tokens
from cryptex_ws.balances import BalancePusher
from cryptex_ws.directory import MarketDirectory
from cryptex_ws.fanout import Hub
from cryptex_ws.feed import MarketFeed
from cryptex_ws.metrics import DROP_MAX_CONNECTIONS, WsMetrics
from cryptex_ws.session import ServerContext, Session
from cryptex_ws.settings import WsSettings
from cryptex_ws.snapshots import DepthSnapshots

log = logging.getLogger("cryptex.ws")


def _plain(status: int, text: str) -> Response:
    body = text.encode()
    headers = Headers([("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return Response(status, "OK" if status == 200 else "Service Unavailable", headers, body)


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
    feed = MarketFeed(
        client, hub, markets, balances, snapshots, ws_metrics, settings.markets_refresh_s
    )
    ctx = ServerContext(
        settings=settings,
        hub=hub,
        markets=markets,
        snapshots=snapshots,
        balances=balances,
        tokens=Tokens(settings.jwt_secret, 0) if settings.jwt_secret else None,
        metrics=ws_metrics,
    )

    async def handler(connection: ServerConnection) -> None:
        client = hub.add(connection, connection.protocol, connection.transport)
        await Session(ctx, client).run(connection)

    def process_request(connection: ServerConnection, request: Request) -> Response | None:
        if request.path == "/healthz":
            healthy = feed.healthy()
            return _plain(200 if healthy else 503, "ok\n" if healthy else "unhealthy\n")
        if len(hub.clients) >= settings.max_connections:
            ws_metrics.disconnects.labels(DROP_MAX_CONNECTIONS).inc()
            return _plain(503, "too many connections\n")
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
