"""The settle script's contract: its keys and arguments by name, and its reply. Pure."""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Final, NamedTuple

from cryptex import keys
from cryptex.ledger.batch import SettleBatch
from cryptex.ledger.errors import CommandGapError, LedgerError, StaleFenceError
from cryptex.ledger.scripts import Call, LuaScript
from cryptex.redis_replies import as_text

# Stream entries as XREADGROUP gives them: (entry id, {field: value}).
StreamEntries = list[tuple[bytes, dict[bytes, bytes]]]


class SettleKeys(NamedTuple):
    fence: str
    applied_key: str
    events: str
    commands: str
    depth: str
    ticker: str
    recent_trades: str
    held: str
    version: str


class SettleArgs(NamedTuple):
    token: int
    last_command_id: str
    group: str
    events_bytes: bytes  # b"" for none
    depth_bytes: bytes  # b"": unchanged
    ticker_bytes: bytes  # b"": unchanged
    previous_command_id: str  # the applied id this batch follows ('' for none)
    batch_text: bytes  # SettleBatch.script_args
    read_next: int  # how many new commands to deliver next (0: none)
    consumer: str  # whom to deliver them to
    first_command_id: str  # the batch's first command not settled before
    market: str
    events_field: str
    settled_command_field: str


SETTLE: Final = LuaScript("settle", SettleKeys, SettleArgs, exact_integers=True)


class SettleStatus(IntEnum):
    SETTLED = 1
    SETTLED_ALREADY = 2  # a retry after a lost reply: nothing changed
    STALE_FENCE = -1
    NEGATIVE_BALANCE = -2
    APPLIED_MISMATCH = -3
    COMMAND_GAP = -4
    OVERFLOW = -5  # a balance would pass 2^63 - 1


def settle_call(
    symbol: str,
    token: int,
    previous_command_id: str,
    last_command_id: str,
    batch: SettleBatch,
    events: bytes,
    depth: bytes,
    ticker: bytes,
    *,
    first_command_id: str,
    read_next: int,
) -> Call:
    named_keys = SettleKeys(
        fence=keys.fence(symbol),
        applied_key=keys.applied(symbol),
        events=keys.events(symbol),
        commands=keys.commands(symbol),
        depth=keys.depth(symbol),
        ticker=keys.ticker(symbol),
        recent_trades=keys.recent_trades(symbol),
        held=keys.HELD,
        version=keys.LEDGER_VERSION,
    )
    batch_keys, batch_text, messages = batch.script_args(len(named_keys) + 1)
    return SETTLE.call(
        named_keys,
        SettleArgs(
            token=token,
            last_command_id=last_command_id,
            group=keys.COMMANDS_GROUP,
            events_bytes=events,
            depth_bytes=depth,
            ticker_bytes=ticker,
            previous_command_id=previous_command_id,
            batch_text=batch_text,
            read_next=read_next,
            consumer=keys.ENGINE_CONSUMER,
            first_command_id=first_command_id,
            market=symbol,
            events_field=keys.EVENTS_FIELD,
            settled_command_field=keys.SETTLED_COMMAND_FIELD,
        ),
        batch_keys,
        messages,
    )


def settle_result(symbol: str, token: int, reply: list[Any]) -> StreamEntries:
    """The next commands the script delivered; raises if it refused the batch."""
    status = SettleStatus(int(reply[0]))
    if status in (SettleStatus.SETTLED, SettleStatus.SETTLED_ALREADY):
        return _stream_entries(reply[1])
    detail = [as_text(part) for part in reply[1:]]
    if status is SettleStatus.STALE_FENCE:
        raise StaleFenceError(f"{symbol}: fencing token {token} is stale ({detail})")
    if status is SettleStatus.COMMAND_GAP:
        raise CommandGapError(f"{symbol}: command {detail[0]} was read by another engine")
    raise LedgerError(f"{symbol}: settlement refused: {status.name} {detail}")


def _stream_entries(reply: Any) -> StreamEntries:
    """A script's XREADGROUP answer ([[stream, [[id, [field, value, ...]], ...]]], or nil) as
    redis-py's xreadgroup would parse it."""
    if not reply:
        return []
    return [
        (entry_id, dict(zip(flat[::2], flat[1::2], strict=True))) for entry_id, flat in reply[0][1]
    ]
