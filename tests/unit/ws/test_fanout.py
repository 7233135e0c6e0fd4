"""The hub: one encoded frame shared by every subscriber, one write per client per flush, a
slow client dropped without holding anyone up, private streams by account."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from prometheus_client import CollectorRegistry
from websockets.frames import Frame, Opcode
from websockets.protocol import State
from websockets.streams import StreamReader

from cryptex_ws.fanout import Client, Hub, text_frame
from cryptex_ws.metrics import WsMetrics
from cryptex_ws.streams import Kind, Stream

DEPTH = Stream(Kind.DEPTH, "SOL_USDC")
TRADES = Stream(Kind.TRADES, "SOL_USDC")
ORDERS = Stream(Kind.ORDERS)


class FakeTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.unread = 0  # bytes a peer that stopped reading leaves in the buffer

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def get_write_buffer_size(self) -> int:
        return self.unread


class FakeConnection:
    def __init__(self) -> None:
        self.state = State.OPEN
        self.closed_with: tuple[int, str] | None = None

    async def close(self, code: int = 1000, reason: str = "") -> None:
        self.state = State.CLOSING
        self.closed_with = (code, reason)


@pytest.fixture
def scheduled() -> list[Callable[[], None]]:
    return []


@pytest.fixture
def hub(scheduled: list[Callable[[], None]]) -> Hub:
    return Hub(1_000, WsMetrics(CollectorRegistry()), schedule=scheduled.append)


def connect(hub: Hub) -> tuple[Client, FakeTransport, FakeConnection]:
    transport, connection = FakeTransport(), FakeConnection()
    return hub.add(connection, connection, transport), transport, connection


def frames(data: bytes) -> list[bytes]:
    """The payloads of the text frames in `data`, parsed as a client would."""
    reader = StreamReader()
    reader.feed_data(data)
    out = []
    while reader.buffer:
        parser = Frame.parse(reader.read_exact, mask=False)
        with pytest.raises(StopIteration) as done:
            next(parser)
        frame: Frame = done.value.value
        assert frame.opcode is Opcode.TEXT
        assert frame.fin
        out.append(bytes(frame.data))
    return out


def test_the_same_frame_object_goes_to_every_subscriber(
    hub: Hub, scheduled: list[Callable[[], None]]
) -> None:
    clients = [connect(hub) for _ in range(3)]
    for client, _, _ in clients[:2]:
        hub.subscribe(client, DEPTH)
    frame = text_frame(b'{"stream":"depth@SOL_USDC","data":{}}')
    hub.publish(hub.subscribers(DEPTH.name) or set(), [frame])
    assert all(client.pending[0] is frame for client, _, _ in clients[:2])
    assert clients[2][0].pending == []
    assert len(scheduled) == 1
    scheduled.pop()()
    assert [t.writes for _, t, _ in clients] == [[frame], [frame], []]


def test_one_write_per_client_per_flush_in_order(
    hub: Hub, scheduled: list[Callable[[], None]]
) -> None:
    client, transport, _ = connect(hub)
    hub.subscribe(client, DEPTH)
    hub.subscribe(client, TRADES)
    hub.send(client, b'{"result":null,"id":1}')
    hub.publish(hub.subscribers(TRADES.name) or set(), [text_frame(b"1"), text_frame(b"2")])
    hub.publish(hub.subscribers(DEPTH.name) or set(), [text_frame(b"3")])
    assert len(scheduled) == 1  # one flush for all of it
    scheduled.pop()()
    [written] = transport.writes
    assert frames(written) == [b'{"result":null,"id":1}', b"1", b"2", b"3"]


async def test_a_slow_client_is_dropped_and_the_others_are_not_held_up(
    hub: Hub, scheduled: list[Callable[[], None]]
) -> None:
    slow, slow_transport, slow_connection = connect(hub)
    fast, fast_transport, _ = connect(hub)
    for client in (slow, fast):
        hub.subscribe(client, DEPTH)
    slow_transport.unread = 1_001  # over the hub's 1,000 bytes
    hub.publish(hub.subscribers(DEPTH.name) or set(), [text_frame(b"x")])
    scheduled.pop()()
    await asyncio.sleep(0)  # the close runs as its own task
    assert slow_connection.closed_with == (1008, "slow consumer: send queue full")
    assert slow.closed
    assert not slow.subscriptions
    assert hub.subscribers(DEPTH.name) == {fast}
    hub.publish(hub.subscribers(DEPTH.name) or set(), [text_frame(b"y")])
    scheduled.pop()()
    assert len(fast_transport.writes) == 2
    assert len(slow_transport.writes) == 1
    sample = hub.metrics.registry.get_sample_value
    assert sample("cryptex_ws_disconnects_total", {"reason": "slow_consumer"}) == 1


def test_nothing_is_written_once_the_closing_handshake_began(
    hub: Hub, scheduled: list[Callable[[], None]]
) -> None:
    client, transport, connection = connect(hub)
    hub.subscribe(client, DEPTH)
    connection.state = State.CLOSING
    hub.publish(hub.subscribers(DEPTH.name) or set(), [text_frame(b"x")])
    scheduled.pop()()
    assert transport.writes == []


def test_private_streams_are_kept_by_account(hub: Hub) -> None:
    alice, _, _ = connect(hub)
    alice_again, _, _ = connect(hub)
    bob, _, _ = connect(hub)
    for client, account in ((alice, 1), (alice_again, 1), (bob, 2)):
        client.account = account
        hub.subscribe(client, ORDERS)
    assert hub.account_subscribers(Kind.ORDERS, 1) == {alice, alice_again}
    assert hub.account_subscribers(Kind.ORDERS, 2) == {bob}
    assert hub.account_subscribers(Kind.BALANCES, 1) is None
    hub.remove(bob)
    assert hub.account_subscribers(Kind.ORDERS, 2) is None


def test_removal_forgets_everything_and_is_idempotent(hub: Hub) -> None:
    client, _, _ = connect(hub)
    hub.subscribe(client, DEPTH)
    hub.subscribe(client, TRADES)
    hub.remove(client)
    hub.remove(client)
    assert hub.subscribers(DEPTH.name) is None
    assert hub.subscribers(TRADES.name) is None
    assert hub.clients == set()
    hub.subscribe(client, DEPTH)  # a late SUBSCRIBE of a closed client registers nothing
    assert hub.subscribers(DEPTH.name) is None
    assert hub.metrics.registry.get_sample_value("cryptex_ws_connections") == 0


async def test_connections_without_a_subscription_are_closed_when_idle(hub: Hub) -> None:
    idle, _, idle_connection = connect(hub)
    busy, _, busy_connection = connect(hub)
    hub.subscribe(busy, DEPTH)
    left, _, left_connection = connect(hub)
    hub.subscribe(left, DEPTH)
    hub.unsubscribe(left, DEPTH)
    hub.close_idle(60)
    assert hub.clients == {idle, busy, left}
    for client in (idle, busy, left):
        if client.idle_since is not None:
            client.idle_since -= 61
    hub.close_idle(60)
    await asyncio.sleep(0)
    assert hub.clients == {busy}
    assert idle_connection.closed_with == left_connection.closed_with == (
        1000, "idle: no subscription",
    )  # fmt: skip
    assert busy_connection.closed_with is None
