"""What the engine publishes with each batch: replies to the sender, trades, depth diffs, the
ticker, and the depth snapshot REST reads without asking the engine."""

from __future__ import annotations

import time
from typing import cast

import msgspec
import redis

from cryptex import keys
from cryptex.wire import (
    DepthDiff,
    DepthSnapshot,
    Fill,
    OrderReply,
    OrderStatus,
    PriceLevel,
    PublicTrade,
    Side,
    Ticker,
)
from tests.integration.engine.harness import EngineProcess, Exchange


def messages(pubsub: redis.client.PubSub, count: int, timeout: float = 10) -> list[bytes]:
    got: list[bytes] = []
    deadline = time.monotonic() + timeout
    while len(got) < count and time.monotonic() < deadline:
        message = pubsub.get_message(ignore_subscribe_messages=True, timeout=0.1)
        if message is not None:
            got.append(cast(bytes, message["data"]))
    return got


def test_the_sender_gets_the_outcome_with_its_fills(
    engine: EngineProcess, exchange: Exchange
) -> None:
    pubsub = exchange.redis.pubsub()  # type: ignore[no-untyped-call]
    pubsub.subscribe(keys.reply_channel("api-7"))
    exchange.fund(1, "USDC", "1000")
    exchange.fund(2, "SOL", "10")
    maker = exchange.placed(2, Side.SELL, "100", "1", reply_to="api-7")
    taker = exchange.placed(1, Side.BUY, "100", "2", reply_to="api-7")
    replies: list[OrderReply] = []
    while len(replies) < 2:  # one message a batch: both replies may come in one
        [data] = messages(pubsub, 1)
        replies += msgspec.msgpack.decode(data, type=list[OrderReply])
    # In one batch or two, the maker's reply tells its state after its own command.
    assert replies == [
        OrderReply(maker, OrderStatus.NEW, 0),
        OrderReply(taker, OrderStatus.PARTIALLY_FILLED, 1_000, [Fill(10_000, 1_000, 1)]),
    ]
    pubsub.close()


def test_trades_depth_and_ticker_are_published_and_kept(
    engine: EngineProcess, exchange: Exchange
) -> None:
    pubsub = exchange.redis.pubsub()  # type: ignore[no-untyped-call]
    symbol = exchange.symbol
    pubsub.subscribe(keys.trades_channel(symbol), keys.depth_channel(symbol))
    exchange.fund(1, "USDC", "1000")
    exchange.fund(2, "SOL", "10")
    exchange.placed(2, Side.SELL, "100", "3")
    exchange.wait_settled()
    exchange.placed(1, Side.BUY, "100", "1")
    exchange.wait_settled()

    published = messages(pubsub, 3)
    diffs = [msgspec.msgpack.decode(m, type=DepthDiff) for m in (published[0], published[2])]
    assert [(d.first_update_id, d.last_update_id, d.asks) for d in diffs] == [
        (1, 1, [PriceLevel(10_000, 3_000)]),
        (2, 2, [PriceLevel(10_000, 2_000)]),
    ]
    trades = msgspec.msgpack.decode(published[1], type=list[PublicTrade])
    assert [(t.trade_id, t.price, t.quantity, t.taker_side) for t in trades] == [
        (1, 10_000, 1_000, Side.BUY)
    ]

    depth = msgspec.msgpack.decode(
        cast(bytes, exchange.redis.get(keys.depth(symbol))), type=DepthSnapshot
    )
    assert depth == DepthSnapshot(2, bids=[], asks=[PriceLevel(10_000, 2_000)])
    ticker = msgspec.msgpack.decode(
        cast(bytes, exchange.redis.get(keys.ticker(symbol))), type=Ticker
    )
    assert (ticker.last_price, ticker.base_volume, ticker.quote_volume, ticker.trade_count) == (
        10_000, 1_000, 100 * 10**6, 1,
    )  # fmt: skip
    [recent] = cast(list[bytes], exchange.redis.lrange(keys.recent_trades(symbol), 0, -1))
    assert msgspec.msgpack.decode(recent, type=PublicTrade) == trades[0]
    pubsub.close()
