"""Every ledger script touches only the keys its caller declared (what a Redis Cluster, and
any reader of the contract, relies on): seen from MONITOR, which lists each command a script
runs, checked with Redis's own COMMAND GETKEYS."""

from __future__ import annotations

import codecs
import re
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis

from cryptex import keys
from cryptex.ledger import Ledger, SettleBatch
from cryptex.markets import MarketSpec
from cryptex.wire import OrderStatus, PlaceOrder, Side
from tests.integration.ledger.conftest import TS
from tests.integration.ledger.settling import DirectSettler
from tests.servers import RedisServer

_LINE = re.compile(r"^\+?[\d.]+ \[\d+ (?P<client>[^\]]+)\] (?P<args>.*)$")
_ARG = re.compile(r'"((?:[^"\\]|\\.)*)"')
_END = "end-of-monitored-calls"


@contextmanager
def monitored(server: RedisServer) -> Iterator[list[tuple[str, list[bytes]]]]:
    """Every command Redis runs inside the block: (who ran it, 'lua' for a script; its args)."""
    lines: list[tuple[str, list[bytes]]] = []
    with socket.create_connection(("127.0.0.1", server.port)) as sock:
        sock.sendall(b"MONITOR\r\n")
        reader = sock.makefile("rb")
        assert reader.readline() == b"+OK\r\n"

        def read() -> None:
            for raw in reader:
                found = _LINE.match(raw.decode("latin-1").rstrip("\r\n"))
                if found is None:
                    continue
                args = [
                    codecs.escape_decode(a.encode("latin-1"))[0]
                    for a in _ARG.findall(found["args"])
                ]
                if args[:2] == [b"echo", _END.encode()]:
                    return
                lines.append((found["client"], args))

        reading = threading.Thread(target=read)
        reading.start()
        try:
            yield lines
        finally:
            server.client().echo(_END)
            reading.join(timeout=10)


def undeclared_keys(
    client: redis.Redis, lines: list[tuple[str, list[bytes]]]
) -> list[tuple[bytes, bytes]]:
    """(script sha, key) for each key a script touched but was not given."""
    found: list[tuple[bytes, bytes]] = []
    declared: set[bytes] = set()
    sha = b""
    for who, args in lines:
        if who != "lua":
            if args[0].lower() == b"evalsha":
                sha, declared = args[1], set(args[3 : 3 + int(args[2])])
            continue
        if args[0].upper() in (b"PUBLISH",):  # a channel, not a key
            continue
        touched = [
            key if isinstance(key, bytes) else key.encode() for key in client.command_getkeys(*args)
        ]
        found += [(sha, key) for key in touched if key not in declared]
    return found


def test_every_script_touches_only_the_keys_it_was_given(
    ledger: Ledger, redis_client: redis.Redis, redis_server: RedisServer, sol: MarketSpec
) -> None:
    with monitored(redis_server) as lines:
        ledger.deposit(7, "USDC", 10_000_000, "d1", TS)
        ledger.deposit(8, "SOL", 10**9, "d2", TS)
        ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS, client_order_id="c"))
        ledger.place(sol, PlaceOrder(12, 8, Side.SELL, 100, 100, TS))
        ledger.request_cancel(12, 8, TS)
        settler = DirectSettler(ledger, redis_client, "SOL_USDC")
        batch = SettleBatch()
        lock = sol.buy_lock(100, 100)
        batch.move(7, keys.locked_field("USDC"), -lock)
        batch.move(7, "USDC", lock)
        batch.update_order(11, status=OrderStatus.CANCELED, locked=0)
        batch.open_order(7, 11, False)
        batch.publish(keys.order_updates_channel("SOL_USDC"), b"update")
        settler.settle(batch, read_next=10)
        ledger.store_snapshot("SOL_USDC", settler.token, b"state" * 100, settler.applied)
        ledger.renew_lease("SOL_USDC", "me", 1_000)
        ledger.release_lease("SOL_USDC", "me")
        ledger.withdraw(7, "USDC", 1, "w1", TS)
        ledger.audit()
    scripts = {args[1] for who, args in lines if who != "lua" and args[0].lower() == b"evalsha"}
    assert len(scripts) == 9  # every script of the ledger ran
    assert undeclared_keys(redis_client, lines) == []
    # Undo what the test left that the teardown audit would rightly call broken.
    redis_client.delete(keys.open_orders(8), keys.open_order_counts(8))
    redis_client.hset(keys.balances(8), mapping={"SOL": 10**9, keys.locked_field("SOL"): 0})
