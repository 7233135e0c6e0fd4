"""Stream names: every spelling of a market, the `trade@` alias, intervals, private streams, and
a precise refusal of everything else."""

from __future__ import annotations

import pytest

from cryptex_ws.errors import Code, RequestError
from cryptex_ws.streams import Kind, Stream, market_streams


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("trades@SOL_USDC", "trades@SOL_USDC"),
        ("trade@SOL_USDC", "trades@SOL_USDC"),
        ("TRADES@sol_usdc", "trades@SOL_USDC"),
        ("depth@sol/usdc", "depth@SOL_USDC"),
        ("depth@SOL-USDC", "depth@SOL_USDC"),
        ("ticker@btc_usdc", "ticker@BTC_USDC"),
        ("kline_1m@SOL_USDC", "kline_1m@SOL_USDC"),
        ("kline_15m@sol/usdc", "kline_15m@SOL_USDC"),
        ("KLINE_1d@SOL_USDC", "kline_1d@SOL_USDC"),
        ("orders@me", "orders@me"),
        ("balances@ME", "balances@me"),
    ],
)
def test_names_are_canonical(text: str, name: str) -> None:
    assert Stream.parse(text).name == name


def test_parsed_parts() -> None:
    assert Stream.parse("kline_1h@eth/usdc") == Stream(Kind.KLINE, "ETH_USDC", "1h")
    assert Stream.parse("orders@me") == Stream(Kind.ORDERS)
    assert Stream.parse("orders@me").kind.private


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("depth", Code.ILLEGAL_PARAMETER, "unknown stream"),
        ("book@SOL_USDC", Code.ILLEGAL_PARAMETER, "unknown stream"),
        ("trades_1m@SOL_USDC", Code.ILLEGAL_PARAMETER, "unknown stream"),
        ("depth@", Code.BAD_SYMBOL, "not a market symbol"),
        ("depth@SOLUSDC", Code.BAD_SYMBOL, "not a market symbol"),
        ("depth@me", Code.BAD_SYMBOL, "not a market symbol"),
        ("kline@SOL_USDC", Code.BAD_INTERVAL, "one of 1m, 5m, 15m, 1h, 1d"),
        ("kline_1M@SOL_USDC", Code.BAD_INTERVAL, "'1M'"),
        ("kline_1w@SOL_USDC", Code.BAD_INTERVAL, "'1w'"),
        ("orders@SOL_USDC", Code.ILLEGAL_PARAMETER, "subscribe orders@me"),
        ("balances@7", Code.ILLEGAL_PARAMETER, "subscribe balances@me"),
        ("depth@" + "A" * 80, Code.ILLEGAL_PARAMETER, "longer than 64"),
        (42, Code.ILLEGAL_PARAMETER, "must be a string"),
        (None, Code.ILLEGAL_PARAMETER, "must be a string"),
    ],
)
def test_refusals_say_why(text: object, code: Code, words: str) -> None:
    with pytest.raises(RequestError) as refused:
        Stream.parse(text)
    assert refused.value.code is code
    assert words in refused.value.msg


def test_a_markets_public_streams() -> None:
    streams = market_streams("SOL_USDC")
    assert [s.name for s in streams[:8]] == [
        "trades@SOL_USDC", "depth@SOL_USDC", "ticker@SOL_USDC", "kline_1m@SOL_USDC",
        "kline_5m@SOL_USDC", "kline_15m@SOL_USDC", "kline_1h@SOL_USDC", "kline_1d@SOL_USDC",
    ]  # fmt: skip
    binance = {s.name for s in streams[8:]}
    assert binance == {
        "solusdc@trade", "solusdc@aggTrade", "solusdc@ticker", "solusdc@miniTicker",
        "solusdc@bookTicker", "solusdc@depth", "solusdc@depth@100ms",
        *(f"solusdc@kline_{i}" for i in ("1m", "5m", "15m", "1h", "1d")),
        *(f"solusdc@depth{n}{fast}" for n in (5, 10, 20) for fast in ("", "@100ms")),
    }  # fmt: skip
    # each Binance stream raw and combined: distinct subscribers in the hub
    assert len({s.key for s in streams[8:]}) == 2 * len(binance)
