"""The cancel script's contract: its keys and arguments by name, and its reply. Pure.

The script queues a command about one open order of the caller's: a cancel, or an amend."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final, NamedTuple

from cryptex import keys
from cryptex.ledger.scripts import Call, LuaScript
from cryptex.redis_replies import as_text
from cryptex.wire import AmendOrder, CancelOrder, RejectReason, encode


class CancelKeys(NamedTuple):
    order_record: str
    commands: str


class CancelArgs(NamedTuple):
    account: int
    command: bytes
    command_field: str


CANCEL: Final = LuaScript("cancel", CancelKeys, CancelArgs)


@dataclass(frozen=True, slots=True)
class CancelResult:
    accepted: bool
    reason: RejectReason | None = None  # UNKNOWN_ORDER, NOT_ORDER_OWNER or ORDER_NOT_OPEN


def cancel_call(market: bytes | str, command: CancelOrder | AmendOrder) -> Call:
    return CANCEL.call(
        CancelKeys(
            order_record=keys.order(command.order_id), commands=keys.commands(as_text(market))
        ),
        CancelArgs(
            account=command.account, command=encode(command), command_field=keys.COMMAND_FIELD
        ),
    )


def cancel_result(reply: list[Any]) -> CancelResult:
    if int(reply[0]) == 1:
        return CancelResult(True)
    return CancelResult(False, RejectReason(as_text(reply[1])))
