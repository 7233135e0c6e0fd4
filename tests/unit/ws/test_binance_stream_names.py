"""Binance's stream names: symbol first, in its lower-case concatenated form, mapped through
the markets listed; each refusal says why."""

from __future__ import annotations

import pytest

from cryptex_ws.errors import Code, RequestError
from cryptex_ws.streams import Kind, Stream, is_binance_name, parse_binance

LISTED = {"solusdc": "SOL_USDC", "ethusdc": "ETH_USDC"}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("solusdc@trade", Stream(Kind.TRADE_EVENTS, "SOL_USDC")),
        ("solusdc@aggTrade", Stream(Kind.AGG_TRADES, "SOL_USDC")),
        ("SOLUSDC@depth", Stream(Kind.DEPTH_UPDATES, "SOL_USDC")),
        ("solusdc@depth@1000ms", Stream(Kind.DEPTH_UPDATES, "SOL_USDC")),
        ("solusdc@depth@100ms", Stream(Kind.DEPTH_UPDATES, "SOL_USDC", fast=True)),
        ("ethusdc@depth10", Stream(Kind.PARTIAL_DEPTH, "ETH_USDC", levels=10)),
        ("ethusdc@depth20@100ms", Stream(Kind.PARTIAL_DEPTH, "ETH_USDC", levels=20, fast=True)),
        ("solusdc@kline_15m", Stream(Kind.KLINES, "SOL_USDC", "15m")),
        ("solusdc@ticker", Stream(Kind.TICKER_24HR, "SOL_USDC")),
        ("solusdc@miniTicker", Stream(Kind.MINI_TICKER, "SOL_USDC")),
        ("solusdc@bookTicker", Stream(Kind.BOOK_TICKER, "SOL_USDC")),
    ],
)
def test_binance_names(text: str, expected: Stream) -> None:
    assert is_binance_name(text)
    assert parse_binance(text, LISTED, combined=False) == expected
    combined = parse_binance(text, LISTED, combined=True)
    assert combined.name == expected.name
    assert combined.key == f"stream:{expected.name}" != expected.key


def test_names_are_spelled_as_binance_spells_them() -> None:
    assert Stream(Kind.PARTIAL_DEPTH, "SOL_USDC", levels=5, fast=True).name == (
        "solusdc@depth5@100ms"
    )
    assert Stream(Kind.DEPTH_UPDATES, "SOL_USDC").name == "solusdc@depth"


@pytest.mark.parametrize(
    ("text", "code", "words"),
    [
        ("btcusdt@trade", Code.BAD_SYMBOL, "unknown symbol 'btcusdt'"),
        ("solusdc@trades", Code.ILLEGAL_PARAMETER, "invalid stream"),
        ("solusdc@depth15", Code.ILLEGAL_PARAMETER, "invalid stream"),
        ("solusdc@depth5@10ms", Code.ILLEGAL_PARAMETER, "invalid stream"),
        ("solusdc@kline_2m", Code.BAD_INTERVAL, "unknown kline interval '2m'"),
        ("solusdc", Code.ILLEGAL_PARAMETER, "invalid stream"),
        ("solusdc@" + "x" * 80, Code.ILLEGAL_PARAMETER, "longer than 64"),
    ],
)
def test_refusals_say_why(text: str, code: Code, words: str) -> None:
    with pytest.raises(RequestError) as refused:
        parse_binance(text, LISTED, combined=False)
    assert refused.value.code is code
    assert words in refused.value.msg


def test_cryptex_names_are_not_binance_names() -> None:
    for name in ("trades@SOL_USDC", "trade@sol_usdc", "kline_1m@SOL_USDC", "orders@me"):
        assert not is_binance_name(name)
