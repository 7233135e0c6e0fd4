"""Stream names: `trades@SOL_USDC` (alias `trade@`), `depth@M`, `ticker@M`, `kline_<interval>@M`,
and the private `orders@me` and `balances@me`.

A market may be written any way `canonical_symbol` accepts (`sol_usdc`, `sol/usdc`); a stream is
always named canonically in messages and in LIST_SUBSCRIPTIONS, so that one encoded message
serves every subscriber of it. Whether the market is listed is the caller's question."""

from __future__ import annotations

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

    @property
    def private(self) -> bool:
        return self is Kind.ORDERS or self is Kind.BALANCES


_ALIASES: Final = {"trade": Kind.TRADES}
_EXPECTED: Final = (
    "trades@<market>, depth@<market>, ticker@<market>, kline_<interval>@<market>, orders@me "
    "or balances@me"
)


@dataclass(frozen=True, slots=True)
class Stream:
    kind: Kind
    market: str = ""  # canonical symbol; empty for a private stream
    interval: str = ""  # klines only

    @property
    def name(self) -> str:
        if self.kind.private:
            return f"{self.kind}@{ME}"
        if self.kind is Kind.KLINE:
            return f"kline_{self.interval}@{self.market}"
        return f"{self.kind}@{self.market}"

    @classmethod
    def parse(cls, text: object) -> Stream:
        """The stream a client names, or a RequestError saying what is wrong with the name."""
        if not isinstance(text, str):
            raise RequestError(Code.ILLEGAL_PARAMETER, "params: each stream must be a string")
        if len(text) > MAX_NAME_LENGTH:
            raise RequestError(
                Code.ILLEGAL_PARAMETER, f"stream name longer than {MAX_NAME_LENGTH} characters"
            )
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


def _kind(text: str) -> Kind | None:
    try:
        return Kind(text)
    except ValueError:
        return None


def market_streams(symbol: str) -> list[Stream]:
    """Every public stream of a market."""
    return [
        Stream(Kind.TRADES, symbol),
        Stream(Kind.DEPTH, symbol),
        Stream(Kind.TICKER, symbol),
        *(Stream(Kind.KLINE, symbol, interval) for interval in INTERVALS_MS),
    ]
