"""The process's one pubsub connection to Redis: every listed market's trades, depth, ticker and
order-update channels, turned into stream messages for the hub.

Markets come from the registry, re-read every `refresh_s`: a new listing is subscribed without a
restart, a delisted market's streams end with an error message to their subscribers. A market
is *ready* (open to SUBSCRIBE) only once Redis has confirmed its channels, so a depth snapshot
read after a client's subscription is registered can never miss a diff. On a lost connection
the feed reconnects and resubscribes, then sends every depth subscriber a fresh snapshot (diffs
were missed meanwhile); trade ids show their gap.

Each Redis message is decoded once and encoded once per stream (see `fanout`); streams nobody
watches cost a lookup. Candles are kept for every market, watched or not, and seeded from the
recent trades list when a market becomes ready."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, cast

import msgspec
import redis.asyncio
from prometheus_client import Counter

from cryptex import keys, registry
from cryptex.binance import symbol_id
from cryptex.klines import INTERVALS_MS
from cryptex.markets import MarketError, MarketSpec
from cryptex.wire import DepthDiff, OrderUpdate, PublicTrade, Ticker
from cryptex_ws import binance_messages, messages
from cryptex_ws.balances import BalancePusher
from cryptex_ws.books import LocalBook
from cryptex_ws.candles import Candles
from cryptex_ws.directory import MarketDirectory
from cryptex_ws.errors import Code
from cryptex_ws.fanout import Hub, text_frame
from cryptex_ws.metrics import WsMetrics
from cryptex_ws.protocol import error
from cryptex_ws.snapshots import DepthSnapshots
from cryptex_ws.streams import PARTIAL_LEVELS, Kind, Stream, market_streams
from cryptex_ws.user_data import UserDataPusher

log = logging.getLogger("cryptex.ws")

_RETRY_S: Final = 0.5  # between attempts to reach Redis
PARTIAL_DEPTH_S: Final = 0.1  # Binance's @depthN@100ms; the others every tenth round (1000 ms)
_trades = msgspec.msgpack.Decoder(list[PublicTrade]).decode
_trade = msgspec.msgpack.Decoder(PublicTrade).decode
_diff = msgspec.msgpack.Decoder(DepthDiff).decode
_ticker = msgspec.msgpack.Decoder(Ticker).decode
_updates = msgspec.msgpack.Decoder(list[OrderUpdate]).decode
ORDERS_STREAM: Final = Stream(Kind.ORDERS).name


def now_ms() -> int:
    return time.time_ns() // 1_000_000


class _Connection(Protocol):
    """A pubsub's connect and close, typed: redis-py leaves both unannotated."""

    async def connect(self) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class _Binance:
    """One Binance stream of a market: its name, and its subscribers' keys raw and combined."""

    name: str
    combined: str

    @classmethod
    def of(cls, stream: Stream) -> _Binance:
        return cls(stream.name, dataclasses.replace(stream, combined=True).key)


@dataclass(frozen=True, slots=True)
class _Names:
    """A market's stream names, spelled once."""

    trades: str
    depth: str
    ticker: str
    klines: dict[str, str] = field(default_factory=dict)
    # Binance's
    trade: _Binance | None = None
    agg_trade: _Binance | None = None
    depth_updates: tuple[_Binance, ...] = ()  # every second and every 100 ms: the same diffs
    partial: dict[tuple[int, bool], _Binance] = field(default_factory=dict)  # (levels, fast)
    binance_klines: dict[str, _Binance] = field(default_factory=dict)
    ticker_24hr: _Binance | None = None
    mini_ticker: _Binance | None = None
    book_ticker: _Binance | None = None

    @classmethod
    def of(cls, symbol: str) -> _Names:
        def binance(kind: Kind, **fields: Any) -> _Binance:
            return _Binance.of(Stream(kind, symbol, **fields))

        return cls(
            Stream(Kind.TRADES, symbol).name,
            Stream(Kind.DEPTH, symbol).name,
            Stream(Kind.TICKER, symbol).name,
            {interval: Stream(Kind.KLINE, symbol, interval).name for interval in INTERVALS_MS},
            binance(Kind.TRADE_EVENTS),
            binance(Kind.AGG_TRADES),
            (binance(Kind.DEPTH_UPDATES), binance(Kind.DEPTH_UPDATES, fast=True)),
            {
                (levels, fast): binance(Kind.PARTIAL_DEPTH, levels=levels, fast=fast)
                for levels in PARTIAL_LEVELS
                for fast in (False, True)
            },
            {i: binance(Kind.KLINES, interval=i) for i in INTERVALS_MS},
            binance(Kind.TICKER_24HR),
            binance(Kind.MINI_TICKER),
            binance(Kind.BOOK_TICKER),
        )


@dataclass(frozen=True, slots=True)
class _Route:
    symbol: str
    handle: Callable[[MarketSpec, bytes], None]
    relayed: Counter


class MarketFeed:
    def __init__(
        self,
        client: redis.asyncio.Redis,
        hub: Hub,
        markets: MarketDirectory,
        balances: BalancePusher,
        snapshots: DepthSnapshots,
        metrics: WsMetrics,
        refresh_s: float,
        user_data: UserDataPusher,
    ) -> None:
        self._client = client
        self._hub = hub
        self.markets = markets
        self._balances = balances
        self._user_data = user_data
        self._books: dict[str, LocalBook] = {}
        self._last_quantity: dict[str, int] = {}  # lots of each market's last trade
        self._snapshots = snapshots
        self._metrics = metrics
        self._refresh_s = refresh_s
        self._names: dict[str, _Names] = {}
        self._routes: dict[bytes, _Route] = {}
        self._unconfirmed: dict[str, set[bytes]] = {}  # channels Redis has not confirmed yet
        self._candles: dict[str, Candles] = {}
        self._pubsub: redis.asyncio.client.PubSub | None = None
        self.connected = False

    # ------------------------------------------------------------------ queries

    def healthy(self) -> bool:
        """Subscribed to Redis, and the registry read recently."""
        stale_after = max(10.0, 3 * self._refresh_s)
        return self.connected and time.monotonic() - self.markets.last_refresh < stale_after

    # ------------------------------------------------------------------ run

    async def run(self) -> None:
        async with asyncio.TaskGroup() as tasks:
            tasks.create_task(self._refresh_forever(), name="registry")
            tasks.create_task(self._read_forever(), name="pubsub")
            tasks.create_task(self._partial_depth_forever(), name="partial-depth")

    async def _refresh_forever(self) -> None:
        while True:
            try:
                await self.refresh()
            except (redis.RedisError, OSError) as failure:
                log.warning("cannot read the market registry", extra={"error": str(failure)})
            await asyncio.sleep(self._refresh_s)

    async def refresh(self) -> None:
        """Follow the registry: subscribe new markets, end delisted ones, update changed ones."""
        raw = cast(dict[bytes, bytes], await self._client.hgetall(keys.MARKETS))
        listed: dict[str, MarketSpec] = {}
        for entry, manifest in raw.items():
            try:
                listed.update(registry.parse_all({entry: manifest}))
            except (MarketError, ValueError, TypeError, KeyError) as failure:
                # One broken manifest must not hide the others (nor end their streams).
                known = self.markets.listed.get(entry.decode())
                if known is not None:
                    listed[known.symbol] = known
                log.error(
                    "skipping an invalid registry entry",
                    extra={"market": entry.decode(errors="replace"), "error": str(failure)},
                )
        markets = self.markets
        markets.last_refresh = time.monotonic()
        added = [symbol for symbol in listed if symbol not in markets.listed]
        removed = [symbol for symbol in markets.listed if symbol not in listed]
        for symbol, market in listed.items():
            if symbol in markets.ready:
                markets.ready[symbol] = market  # a new trading state or fee; never new sizes
        for symbol in added:
            self._add(listed[symbol])
        markets.listed = listed
        markets.binance_ids = {symbol_id(m).lower(): s for s, m in listed.items()}
        for symbol in removed:
            self._remove(symbol)
        pubsub = self._pubsub
        if pubsub is not None and added:
            await pubsub.subscribe(*(c for s in added for c in self._channels(s)))
        if pubsub is not None and removed:
            await pubsub.unsubscribe(*(c for s in removed for c in self._channels(s)))

    def _channels(self, symbol: str) -> list[str]:
        return [
            keys.trades_channel(symbol),
            keys.depth_channel(symbol),
            keys.ticker_channel(symbol),
            keys.order_updates_channel(symbol),
        ]

    def _add(self, market: MarketSpec) -> None:
        symbol = market.symbol
        self._names[symbol] = _Names.of(symbol)
        self._candles[symbol] = Candles(market)
        self._books[symbol] = LocalBook()
        handlers = (self._on_trades, self._on_depth, self._on_ticker, self._on_orders)
        labels = ("trades", "depth", "ticker", "orders")
        for channel, handle, label in zip(self._channels(symbol), handlers, labels, strict=True):
            self._routes[channel.encode()] = _Route(
                symbol, handle, self._metrics.relayed.labels(symbol, label)
            )
        self._unconfirmed[symbol] = {channel.encode() for channel in self._channels(symbol)}
        log.info("market listed", extra={"market": symbol})

    def _remove(self, symbol: str) -> None:
        for channel in self._channels(symbol):
            self._routes.pop(channel.encode(), None)
        self._unconfirmed.pop(symbol, None)
        self._candles.pop(symbol, None)
        self._books.pop(symbol, None)
        self._last_quantity.pop(symbol, None)
        self._names.pop(symbol, None)
        if symbol in self.markets.ready:
            self.markets.unset_ready(symbol)
        ended = error(None, Code.BAD_SYMBOL, f"market {symbol} was delisted: its streams ended")
        for stream in market_streams(symbol):
            for client in list(self._hub.subscribers(stream.key) or ()):
                self._hub.unsubscribe(client, stream)
                self._hub.send(client, ended)
        log.info("market delisted", extra={"market": symbol})

    async def _read_forever(self) -> None:
        while True:
            pubsub = self._client.pubsub()
            connection: _Connection = pubsub
            try:
                await connection.connect()
                # No await between taking the listed markets and publishing the pubsub: a
                # market listed from here on is subscribed by refresh() itself.
                self._pubsub = pubsub
                for symbol in self.markets.listed:
                    self._unconfirmed[symbol] = {c.encode() for c in self._channels(symbol)}
                channels = [c for symbol in self.markets.listed for c in self._channels(symbol)]
                if channels:
                    await pubsub.subscribe(*channels)
                self.connected = True
                self._metrics.redis_up.set(1)
                while True:
                    message = await pubsub.get_message(timeout=None)
                    if message is not None:
                        await self._on_message(message)
            except (redis.ConnectionError, redis.TimeoutError, OSError) as failure:
                log.warning("lost the pubsub connection to Redis", extra={"error": str(failure)})
            finally:
                self._pubsub = None
                self.connected = False
                self._metrics.redis_up.set(0)
                if self.markets.ready:
                    self.markets.unset_ready()  # until Redis confirms the channels again
                with contextlib.suppress(Exception):
                    await connection.aclose()
            await asyncio.sleep(_RETRY_S)

    async def _on_message(self, message: Mapping[str, Any]) -> None:
        kind = message["type"]
        if kind == "message":
            route = self._routes.get(message["channel"])
            market = self.markets.ready.get(route.symbol) if route is not None else None
            if route is None or market is None:
                return
            started = time.perf_counter()
            try:
                route.handle(market, message["data"])
            except Exception:
                # One bad message must not stop the relay of every market.
                channel = message["channel"].decode()
                self._metrics.undecodable.labels(channel).inc()
                log.exception("cannot relay a message", extra={"channel": channel})
            route.relayed.inc()
            book = self._books.get(route.symbol)
            if book is not None and book.stale and route.handle == self._on_depth:
                # A gap, or a side thinned out: the snapshot again (this market's messages
                # wait in the socket meanwhile).
                book.load(await self._snapshots.read(market))
            self._metrics.fanout_seconds.observe(time.perf_counter() - started)
        elif kind == "subscribe":
            await self._confirmed(message["channel"])

    async def _confirmed(self, channel: bytes) -> None:
        route = self._routes.get(channel)
        waiting = self._unconfirmed.get(route.symbol) if route is not None else None
        if route is None or waiting is None:
            return
        waiting.discard(channel)
        if waiting:
            return
        symbol = route.symbol
        del self._unconfirmed[symbol]
        # This market's messages wait in the socket while we read: the reader is this task.
        candles = await self._seeded_candles(self.markets.listed[symbol])
        market = self.markets.listed.get(symbol)
        if market is None:  # delisted meanwhile
            return
        self._candles[symbol] = candles
        self._books[symbol].load(await self._snapshots.read(market))
        self.markets.set_ready(market)
        # After a lost connection, diffs were missed: whoever follows the book starts over
        # from a snapshot read now, as after a SUBSCRIBE.
        subscribers = self._hub.subscribers(self._names[symbol].depth)
        if subscribers:
            self._hub.publish(subscribers, [await self._snapshots.frame(market)])
        log.info("market streams open", extra={"market": symbol})

    async def _seeded_candles(self, market: MarketSpec) -> Candles:
        """Candles from the recent trades list (newest first in Redis), so a restart does not
        open every candle at its first new trade. An interval with more trades than the list
        holds starts partial."""
        candles = Candles(market)
        raw = cast(list[bytes], await self._client.lrange(keys.recent_trades(market.symbol), 0, -1))
        trades = []
        for item in reversed(raw):
            with contextlib.suppress(msgspec.DecodeError, msgspec.ValidationError):
                trades.append(_trade(item))
        candles.apply(trades)
        return candles

    # ------------------------------------------------------------------ channels -> streams

    def _binance(self, stream: _Binance | None, payloads: list[dict[str, object]]) -> None:
        """Publish Binance payloads to a stream's raw and combined subscribers, encoding each
        form only if someone reads it."""
        if stream is None or not payloads:
            return
        hub = self._hub
        raw = hub.subscribers(stream.name)
        if raw:
            hub.publish(raw, [text_frame(messages.encode(p)) for p in payloads])
        combined = hub.subscribers(stream.combined)
        if combined:
            name = stream.name
            hub.publish(combined, [text_frame(messages.envelope(name, p)) for p in payloads])

    def _watched(self, stream: _Binance | None) -> bool:
        hub = self._hub
        return stream is not None and bool(
            hub.subscribers(stream.name) or hub.subscribers(stream.combined)
        )

    def _on_trades(self, market: MarketSpec, data: bytes) -> None:
        trades = _trades(data)
        hub, names = self._hub, self._names[market.symbol]
        subscribers = hub.subscribers(names.trades)
        if subscribers:
            stream = names.trades
            hub.publish(
                subscribers,
                [text_frame(messages.envelope(stream, messages.trade(market, t))) for t in trades],
            )
        if trades:
            self._last_quantity[market.symbol] = trades[-1].quantity
        now = now_ms()
        if self._watched(names.trade):
            self._binance(names.trade, [binance_messages.trade(market, t, now) for t in trades])
        if self._watched(names.agg_trade):
            self._binance(
                names.agg_trade, [binance_messages.agg_trade(market, t, now) for t in trades]
            )
        current = self._candles[market.symbol]
        for interval, candles in current.apply(trades).items():
            stream = names.klines[interval]
            subscribers = hub.subscribers(stream)
            if subscribers:
                hub.publish(
                    subscribers,
                    [
                        text_frame(messages.envelope(stream, messages.kline(market, c)))
                        for c in candles
                    ],
                )
            binance = names.binance_klines.get(interval)
            if self._watched(binance):
                latest = current.current[interval]
                self._binance(binance, [
                    binance_messages.kline(market, c, c is not latest, now) for c in candles
                ])  # fmt: skip

    def _on_depth(self, market: MarketSpec, data: bytes) -> None:
        diff = _diff(data)
        names = self._names[market.symbol]
        stream = names.depth
        subscribers = self._hub.subscribers(stream)
        now = now_ms()
        if subscribers:
            payload = messages.envelope(stream, messages.depth_update(market, diff, now))
            self._hub.publish(subscribers, [text_frame(payload)])
        watched = [s for s in names.depth_updates if self._watched(s)]
        if watched:
            update = binance_messages.depth_update(market, diff, now)
            raw = text_frame(messages.encode(update))
            for binance in watched:  # the same diffs every 100 ms and every second
                hub = self._hub
                subscribers = hub.subscribers(binance.name)
                if subscribers:
                    hub.publish(subscribers, [raw])
                combined = hub.subscribers(binance.combined)
                if combined:
                    hub.publish(combined, [text_frame(messages.envelope(binance.name, update))])
        book = self._books[market.symbol]
        before = book.best()
        if book.apply(diff) and self._watched(names.book_ticker):
            best = book.best()
            if best != before:
                self._binance(names.book_ticker, [
                    binance_messages.book_ticker(market, diff.last_update_id, *best)
                ])  # fmt: skip

    def _on_ticker(self, market: MarketSpec, data: bytes) -> None:
        ticker = _ticker(data)
        names = self._names[market.symbol]
        stream = names.ticker
        subscribers = self._hub.subscribers(stream)
        if subscribers:
            payload = messages.envelope(stream, messages.ticker(market, ticker))
            self._hub.publish(subscribers, [text_frame(payload)])
        now = now_ms()
        if self._watched(names.ticker_24hr):
            bid, ask = self._books[market.symbol].best()
            last = self._last_quantity.get(market.symbol, 0)
            self._binance(names.ticker_24hr, [
                binance_messages.ticker_24hr(market, ticker, bid, ask, last, now)
            ])  # fmt: skip
        if self._watched(names.mini_ticker):
            self._binance(names.mini_ticker, [binance_messages.mini_ticker(market, ticker, now)])

    def _on_orders(self, market: MarketSpec, data: bytes) -> None:
        """Private: each update goes to its own account's subscribers and nobody else's."""
        hub = self._hub
        for update in _updates(data):
            subscribers = hub.account_subscribers(Kind.ORDERS, update.account)
            if subscribers:
                payload = messages.envelope(ORDERS_STREAM, messages.order(market, update))
                hub.publish(subscribers, [text_frame(payload)])
            if hub.account_subscribers(Kind.BALANCES, update.account):
                self._balances.touch(update.account)
            if self._user_data.followed(update.account):
                self._user_data.push(market, update)

    async def _partial_depth_forever(self) -> None:
        """Binance's partial depths: the best levels every 100 ms (`@100ms`) or every second,
        whether or not the book changed, as Binance sends them."""
        rounds = 0
        while True:
            await asyncio.sleep(PARTIAL_DEPTH_S)
            rounds += 1
            speeds = (True, False) if rounds % 10 == 0 else (True,)
            for symbol, market in self.markets.ready.items():
                book, names = self._books.get(symbol), self._names.get(symbol)
                if book is None or names is None or book.stale:
                    continue
                for (levels, fast), stream in names.partial.items():
                    if fast in speeds and self._watched(stream):
                        bids, asks = book.top(levels)
                        self._binance(stream, [binance_messages.partial_depth(
                            market, book.last_update_id, bids, asks
                        )])  # fmt: skip
