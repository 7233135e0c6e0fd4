"""Trading-state changes through the command stream, acknowledged by a real engine process."""

from __future__ import annotations

import time

import pytest
import redis

from cryptex import keys
from cryptex.wire import (
    ControlRejected,
    RejectReason,
    SetTradingState,
    TradingState,
    TradingStateChanged,
)
from cryptex_operator import control
from tests.integration.engine.harness import EngineProcess, Exchange, entries_tail

TS = 1_700_000_000_000


def xread_calls(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return int(stats.get("cmdstat_xread", {}).get("calls", 0))


def test_a_state_change_is_acknowledged_with_its_request_id(
    engine: EngineProcess, exchange: Exchange
) -> None:
    sent = control.send(exchange.redis, "SOL_USDC", SetTradingState(TradingState.HALTED, TS, "r1"))
    assert sent.request_id == "r1"
    assert sent.events_from == "0-0"  # nothing settled before it
    ack = control.wait_ack(exchange.redis, "SOL_USDC", sent, timeout_s=10)
    assert ack == TradingStateChanged(TradingState.ACTIVE, TradingState.HALTED, TS, "r1")
    assert control.describe(ack) == "the engine went from Active to Halted"
    deadline = time.monotonic() + 5
    beat = control.heartbeat(exchange.redis, "SOL_USDC")
    while beat is not None and beat.trading_state != "Halted" and time.monotonic() < deadline:
        time.sleep(0.05)  # the heartbeat follows within a third of the lease
        beat = control.heartbeat(exchange.redis, "SOL_USDC")
    assert beat is not None
    assert (beat.trading_state, beat.resting_orders) == ("Halted", 0)


def test_the_wait_reads_only_what_was_settled_after_the_send(
    engine: EngineProcess, exchange: Exchange
) -> None:
    first = control.send(exchange.redis, "SOL_USDC", SetTradingState(TradingState.HALTED, TS, "r"))
    assert control.wait_ack(exchange.redis, "SOL_USDC", first, timeout_s=10) is not None
    # The same request id again: the first acknowledgement is before this send, so it is not it.
    again = control.send(exchange.redis, "SOL_USDC", SetTradingState(TradingState.ACTIVE, TS, "r"))
    assert again.events_from != "0-0"
    ack = control.wait_ack(exchange.redis, "SOL_USDC", again, timeout_s=10)
    assert ack == TradingStateChanged(TradingState.HALTED, TradingState.ACTIVE, TS, "r")


def test_a_closed_market_refuses_to_reopen(engine: EngineProcess, exchange: Exchange) -> None:
    closing = SetTradingState(TradingState.CLOSED, TS, "close")
    closed = control.send(exchange.redis, "SOL_USDC", closing)
    assert control.wait_ack(exchange.redis, "SOL_USDC", closed, timeout_s=10) is not None
    reopen = SetTradingState(TradingState.ACTIVE, TS, "reopen")
    sent = control.send(exchange.redis, "SOL_USDC", reopen)
    ack = control.wait_ack(exchange.redis, "SOL_USDC", sent, timeout_s=10)
    assert ack == ControlRejected(RejectReason.MARKET_CLOSED, TS, "reopen")


def test_without_an_engine_the_wait_ends_in_time_with_a_blocking_read(
    engine: EngineProcess, exchange: Exchange
) -> None:
    engine.stop()
    sent = control.send(exchange.redis, "SOL_USDC", SetTradingState(TradingState.HALTED, TS, "r"))
    calls = xread_calls(exchange.redis)
    started = time.monotonic()
    assert control.wait_ack(exchange.redis, "SOL_USDC", sent, timeout_s=0.5) is None
    assert 0.5 <= time.monotonic() - started < 2
    assert xread_calls(exchange.redis) - calls <= 2  # one blocking read, not a busy loop
    # The command waits in the stream: the next engine acknowledges it.
    engine.start()
    ack = control.wait_ack(exchange.redis, "SOL_USDC", sent, timeout_s=10)
    assert ack == TradingStateChanged(TradingState.ACTIVE, TradingState.HALTED, TS, "r")
    assert exchange.redis.exists(keys.heartbeat("SOL_USDC"))


def test_an_acknowledgement_trimmed_away_is_reported_lost_and_a_resend_is_answered(
    engine: EngineProcess, exchange: Exchange
) -> None:
    def settled(request_id: str) -> control.Sent:
        command = SetTradingState(TradingState.HALTED, TS, request_id)
        sent = control.send(exchange.redis, "SOL_USDC", command)
        assert control.wait_ack(exchange.redis, "SOL_USDC", sent, timeout_s=10) is not None
        return sent

    sent = settled("b")
    settled("c")
    events = keys.events("SOL_USDC")
    tail = entries_tail(exchange.redis, events)
    assert tail is not None
    # Nothing trimmed: a request whose answer is not there yet is merely waited for.
    waiting = control.Sent("d", command_id=sent.command_id, events_from=tail)
    assert control.wait_ack(exchange.redis, "SOL_USDC", waiting, timeout_s=0.1) is None

    # The operator was away while the DB processor trimmed past b's acknowledgement.
    exchange.redis.xtrim(events, minid=tail, approximate=False)
    with pytest.raises(control.AckLostError, match="no longer reaches back to request b"):
        control.wait_ack(exchange.redis, "SOL_USDC", sent, timeout_s=0.1)
    # Sent again, the state the engine has is acknowledged like any other change.
    again = control.send(exchange.redis, "SOL_USDC", SetTradingState(TradingState.HALTED, TS, "b"))
    ack = control.wait_ack(exchange.redis, "SOL_USDC", again, timeout_s=10)
    assert ack == TradingStateChanged(TradingState.HALTED, TradingState.HALTED, TS, "b")
