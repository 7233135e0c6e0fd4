"""PostgreSQL ends the DB processor's pooled connection while it sits idle, and the backend's
last FATAL message arrives before its socket closes (PostgreSQL SIGKILLed under load: the chaos
soak). asyncpg then marks the connection broken, and the next batch's first statement raises
its InternalClientError. The processor must take that for the lost connection it is and write
the batch again on a new one; it exited, and history stopped until someone restarted it."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import asyncpg
import pytest
import redis

from cryptex.markets import MarketSpec
from cryptex.wire import Side, TimeInForce, TradeExecuted
from tests.integration.dbproc.harness import DbprocProcess, fetch, wait_written
from tests.integration.engine.harness import EngineProcess, Exchange
from tests.servers import RedisServer

CLOSE_DELAY_S = 3.0  # the window in which the processor finds the broken connection


class SlowCloseProxy:
    """TCP to PostgreSQL that passes every byte on at once, but the server's close only
    `delay_s` later: the FATAL message and the end of the connection arrive apart."""

    def __init__(self, target_port: int, delay_s: float) -> None:
        self.target_port = target_port
        self.delay_s = delay_s
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            server = socket.create_connection(("127.0.0.1", self.target_port))
            threading.Thread(target=self._pump, args=(client, server, 0.0), daemon=True).start()
            threading.Thread(
                target=self._pump, args=(server, client, self.delay_s), daemon=True
            ).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket, close_delay_s: float) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        time.sleep(close_delay_s)
        for end in (sink, source):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture
def proxy(database_url: str) -> Iterator[SlowCloseProxy]:
    port = urlsplit(database_url).port
    assert port is not None
    proxy = SlowCloseProxy(port, CLOSE_DELAY_S)
    yield proxy
    proxy.close()


def test_a_pooled_connection_ended_while_idle_is_retried_not_fatal(
    redis_server: RedisServer, redis_client: redis.Redis, sol: MarketSpec, exchange: Exchange,
    engine: EngineProcess, database_url: str, proxy: SlowCloseProxy, tmp_path: Path,
) -> None:  # fmt: skip
    parts = urlsplit(database_url)
    through_proxy = parts._replace(netloc=f"{parts.username}@127.0.0.1:{proxy.port}").geturl()
    # One pooled connection: the one that is ended is the one the next batch gets.
    dbproc = DbprocProcess(redis_server.url, through_proxy, tmp_path, pool_size="1")
    dbproc.start()
    exchange.fund(1, "USDC", "100000")
    exchange.fund(2, "SOL", "1000")

    def trade() -> None:
        exchange.placed(2, Side.SELL, "150.00", "1")
        exchange.placed(1, Side.BUY, "150.00", "1", time_in_force=TimeInForce.IOC)
        exchange.wait_settled()

    try:
        trade()
        wait_written(redis_client, ["SOL_USDC"])
        ended = asyncio.run(_end_other_sessions(database_url))
        assert ended >= 1, "the processor held no connection to end"
        time.sleep(0.5)  # its FATAL is read; its close is held back by the proxy
        trade()
        try:
            wait_written(redis_client, ["SOL_USDC"], timeout=30)
        finally:
            assert dbproc.process is not None
            assert dbproc.process.poll() is None, f"the processor exited: {dbproc.log_tail()}"
        stored = sorted(r["trade_id"] for r in fetch(database_url, "SELECT trade_id FROM trades"))
        settled = [e.trade_id for e in exchange.events() if isinstance(e, TradeExecuted)]
        assert len(stored) == 2
        assert stored == sorted(settled)
    except BaseException:
        dbproc.stop()
        raise
    assert dbproc.stop() == 0, dbproc.log_tail()


async def _end_other_sessions(database_url: str) -> int:
    """pg_terminate_backend on every other session of this database: each backend sends its
    FATAL and exits."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE datname = current_database() AND pid <> pg_backend_pid()"""
        )
    finally:
        await conn.close()
    return len(rows)
