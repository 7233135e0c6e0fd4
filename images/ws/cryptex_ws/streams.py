"""Stream names: `trades@SOL_USDC` (alias `trade@`), `depth@M`, `ticker@M`, `kline_<interval>@M`,
and the private `orders@me` and `balances@me`; and Binance's (the facade), named symbol first in
Binance's lower-case concatenated form: `solusdc@trade`, `@aggTrade`, `@depth`, `@depth@100ms`,
`@depth5`, `@depth10`, `@depth20` (each also `@100ms`), `@kline_<interval>`, `@ticker`,
`@miniTicker`, `@bookTicker`; a user data stream is named by its listenKey.

A Binance stream is either raw (`/ws`: its messages are the payload) or combined (`/stream`:
`{"stream", "data"}`); the two are distinct streams to the hub (`key`), so that each message is
encoded once per form, not once per client.

A market may be written any way `canonical_symbol` accepts (`sol_usdc`, `sol/usdc`); a stream is
always named canonically in messages and in LIST_SUBSCRIPTIONS, so that one encoded message
serves every subscriber of it. Whether the market is listed is the caller's question."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from cryptex.klines import INTERVALS_MS
from cryptex.markets import MarketError, canonical_symbol
from cryptex_ws.errors import Code, RequestError

ME: Final = "me"  # the target of private streams: the authenticated account
MAX_NAME_LENGTH: Final = 64


class Kind(StrEnum):
    TRADES = "trades"
    DEPTH = "depth"
    TICKER = "ticker"
    KLINE = "kline"
    ORDERS = "orders"
    BALANCES = "balances"
    # Binance's
    TRADE_EVENTS = "binance_trade"
    AGG_TRADES = "binance_aggTrade"
    DEPTH_UPDATES = "binance_depth"
    PARTIAL_DEPTH = "binance_partial_depth"
    KLINES = "binance_kline"
    TICKER_24HR = "binance_ticker"
    MINI_TICKER = "binance_miniTicker"
    BOOK_TICKER = "binance_bookTicker"
    USER_DATA = "binance_user_data"  # /ws/<listenKey>: the events themselves
    USER_DATA_API = "binance_user_data_api"  # /ws-api/v3: {"subscriptionId", "event"}

    @property
    def private(self) -> bool:
        return self in _PRIVATE


_PRIVATE: Final = frozenset({Kind.ORDERS, Kind.BALANCES, Kind.USER_DATA, Kind.USER_DATA_API})
_NATIVE: Final = frozenset(
    {Kind.TRADES, Kind.DEPTH, Kind.TICKER, Kind.KLINE, Kind.ORDERS, Kind.BALANCES}
)
_ALIASES: Final = {"trade": Kind.TRADES}
# Binance's stream types after `<symbol>@`, but for the kline and depth families
_BINANCE_KINDS: Final = {
    "trade": Kind.TRADE_EVENTS, "aggTrade": Kind.AGG_TRADES, "ticker": Kind.TICKER_24HR,
    "miniTicker": Kind.MINI_TICKER, "bookTicker": Kind.BOOK_TICKER,
}  # fmt: skip
_BINANCE_SUFFIX: Final = {v: k for k, v in _BINANCE_KINDS.items()}
PARTIAL_LEVELS: Final = (5, 10, 20)
FAST: Final = "@100ms"  # depth every 100 ms; without it (or with @1000ms), every second
_BINANCE_EXPECTED: Final = (
    "<symbol>@trade, @aggTrade, @depth, @depth@100ms, @depth5, @depth10, @depth20 (each also "
    "@100ms), @kline_<interval>, @ticker, @miniTicker or @bookTicker, the symbol as solusdc"
)
_EXPECTED: Final = (
    "trades@<market>, depth@<market>, ticker@<market>, kline_<interval>@<market>, orders@me "
    "or balances@me; or Binance's <symbol>@trade, @aggTrade, @depth, @kline_<interval>, "
    "@ticker, @miniTicker, @bookTicker"
)


@dataclass(frozen=True, slots=True)
class Stream:
    kind: Kind
    market: str = ""  # canonical symbol; empty for a private stream
    interval: str = ""  # klines only
    levels: int = 0  # Binance's partial depth: 5, 10 or 20
    fast: bool = False  # Binance's depth streams: @100ms
    combined: bool = False  # a Binance stream of /stream: messages wrapped {stream, data}
    listen_key: str = ""  # USER_DATA: the listenKey that names it

    @property
    def name(self) -> str:
        kind = self.kind
        if kind in _NATIVE:
            if kind.private:
                return f"{kind}@{ME}"
            if kind is Kind.KLINE:
                return f"kline_{self.interval}@{self.market}"
            return f"{kind}@{self.market}"
        if kind is Kind.USER_DATA:
            return self.listen_key
        if kind is Kind.USER_DATA_API:
            return "userDataStream"
        head = binance_id(self.market)
        if kind is Kind.KLINES:
            return f"{head}@kline_{self.interval}"
        if kind is Kind.DEPTH_UPDATES:
            return f"{head}@depth{FAST if self.fast else ''}"
        if kind is Kind.PARTIAL_DEPTH:
            return f"{head}@depth{self.levels}{FAST if self.fast else ''}"
        return f"{head}@{_BINANCE_SUFFIX[kind]}"

    @property
    def key(self) -> str:
        """Its subscribers' key in the hub: a combined stream is not its raw twin."""
        return f"stream:{self.name}" if self.combined else self.name

    @property
    def binance(self) -> bool:
        return self.kind not in _NATIVE

    @classmethod
    def parse(cls, text: object) -> Stream:
        """The stream a client names, or a RequestError saying what is wrong with the name."""
        text = _checked(text)
        head, at, target = text.partition("@")
        prefix, _, interval = head.lower().partition("_")
        kind = _ALIASES.get(prefix) or _kind(prefix)
        if not at or kind is None or (interval and kind is not Kind.KLINE):
            raise RequestError(
                Code.ILLEGAL_PARAMETER, f"unknown stream {text!r}: expected {_EXPECTED}"
            )
        if kind.private:
            if target.lower() != ME:
                raise RequestError(
                    Code.ILLEGAL_PARAMETER, f"{kind} is private: subscribe {kind}@{ME}"
                )
            return cls(kind)
        if kind is Kind.KLINE:
            interval = head.partition("_")[2]  # as written: 1m is a minute, 1M would be a month
            if interval not in INTERVALS_MS:
                raise RequestError(
                    Code.BAD_INTERVAL,
                    f"unknown kline interval {interval!r}: one of {', '.join(INTERVALS_MS)}",
                )
        try:
            market = canonical_symbol(target)
        except MarketError as error:
            raise RequestError(Code.BAD_SYMBOL, str(error)) from None
        return cls(kind, market, interval)


def _checked(text: object) -> str:
    """A stream name of the right type and length."""
    if not isinstance(text, str):
        raise RequestError(Code.ILLEGAL_PARAMETER, "params: each stream must be a string")
    if len(text) > MAX_NAME_LENGTH:
        raise RequestError(
            Code.ILLEGAL_PARAMETER, f"stream name longer than {MAX_NAME_LENGTH} characters"
        )
    return text


def _kind(text: str) -> Kind | None:
    try:
        kind = Kind(text)
    except ValueError:
        return None
    return kind if kind in _NATIVE else None


def binance_id(symbol: str) -> str:
    """The market's name in Binance's streams: SOL_USDC is solusdc."""
    return symbol.replace("_", "").lower()


def is_binance_name(text: str) -> bool:
    """Whether a stream name is Binance's (`<symbol>@<type>`) rather than Cryptex's (kind
    first): its type is one of Binance's."""
    head, _, tail = text.partition("@")
    if _kind(head.lower().partition("_")[0]) is not None or head.lower() in _ALIASES:
        return False
    kind = tail.partition("@")[0]
    return kind in _BINANCE_KINDS or kind.startswith("kline_") or kind in _DEPTH_NAMES


def parse_binance(text: object, markets: Mapping[str, str], *, combined: bool) -> Stream:
    """A Binance market stream; `markets` maps Binance's lower-case ids to canonical symbols."""
    text = _checked(text)
    head, at, tail = text.partition("@")
    if not at:
        raise RequestError(
            Code.ILLEGAL_PARAMETER, f"invalid stream {text!r}: expected {_BINANCE_EXPECTED}"
        )
    market = markets.get(head.lower())
    if market is None:
        raise RequestError(Code.BAD_SYMBOL, f"unknown symbol {head!r} in stream {text!r}")
    kind = _BINANCE_KINDS.get(tail)
    if kind is not None:
        return Stream(kind, market, combined=combined)
    if tail.startswith("kline_"):
        interval = tail.removeprefix("kline_")
        if interval not in INTERVALS_MS:
            raise RequestError(
                Code.BAD_INTERVAL,
                f"unknown kline interval {interval!r}: one of {', '.join(INTERVALS_MS)}",
            )
        return Stream(Kind.KLINES, market, interval, combined=combined)
    if tail.startswith("depth"):
        depth, _, speed = tail.partition("@")
        levels = depth.removeprefix("depth")
        if speed in ("100ms", "1000ms", "") and (not levels or levels in _LEVEL_NAMES):
            fast = speed == "100ms"
            if not levels:
                return Stream(Kind.DEPTH_UPDATES, market, fast=fast, combined=combined)
            return Stream(Kind.PARTIAL_DEPTH, market, levels=int(levels), fast=fast,
                          combined=combined)  # fmt: skip
    raise RequestError(
        Code.ILLEGAL_PARAMETER, f"invalid stream {text!r}: expected {_BINANCE_EXPECTED}"
    )


_LEVEL_NAMES: Final = frozenset(str(n) for n in PARTIAL_LEVELS)
_DEPTH_NAMES: Final = frozenset({"depth", *(f"depth{n}" for n in PARTIAL_LEVELS)})


def market_streams(symbol: str) -> list[Stream]:
    """Every public stream of a market, Binance's in both forms."""
    binance = [
        *(Stream(kind, symbol) for kind in _BINANCE_SUFFIX),
        *(Stream(Kind.KLINES, symbol, interval) for interval in INTERVALS_MS),
        *(Stream(Kind.DEPTH_UPDATES, symbol, fast=fast) for fast in (False, True)),
        *(
            Stream(Kind.PARTIAL_DEPTH, symbol, levels=levels, fast=fast)
            for levels in PARTIAL_LEVELS
            for fast in (False, True)
        ),
    ]
    return [
        Stream(Kind.TRADES, symbol),
        Stream(Kind.DEPTH, symbol),
        Stream(Kind.TICKER, symbol),
        *(Stream(Kind.KLINE, symbol, interval) for interval in INTERVALS_MS),
        *binance,
        *(Stream(s.kind, symbol, s.interval, s.levels, s.fast, True) for s in binance),
    ]
