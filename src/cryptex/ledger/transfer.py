"""The transfer script's contract (deposits and withdrawals): keys and arguments by name, and
its reply. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Final, NamedTuple

from cryptex import keys
from cryptex.ledger.scripts import Call, LuaScript
from cryptex.redis_replies import as_text


class TransferKeys(NamedTuple):
    balances: str
    totals: str
    held: str
    accounts: str
    journal: str
    reference_key: str
    version: str


class TransferArgs(NamedTuple):
    account: int
    asset: str
    units: int  # signed: positive for a deposit, negative for a withdrawal
    reference: str
    ts: int  # epoch ms


TRANSFER: Final = LuaScript("transfer", TransferKeys, TransferArgs, exact_integers=True)


class TransferOutcome(IntEnum):
    DONE = 1
    REPEATED = 2  # the reference was used for this very transfer: nothing more moved
    INSUFFICIENT_FUNDS = -1  # a withdrawal beyond the available balance
    REFERENCE_REUSED = -2  # the reference names another transfer: refused
    OVERFLOW = -3  # a balance or the asset's total would pass 2^63 - 1


@dataclass(frozen=True, slots=True)
class TransferResult:
    outcome: TransferOutcome
    # Units available after the transfer (after the first one, when repeated); when refused,
    # those available now (0 when the reference was reused: not read).
    available: int
    first: tuple[int, str, int] | None = None  # account, asset, signed units the reference named

    @property
    def ok(self) -> bool:
        return self.outcome in (TransferOutcome.DONE, TransferOutcome.REPEATED)


def deposit_call(account: int, asset: str, units: int, reference: str, ts: int) -> Call:
    """Credit `units` to the account's available balance, once per `reference`."""
    return _transfer_call(account, asset, _positive(units), reference, ts)


def withdrawal_call(account: int, asset: str, units: int, reference: str, ts: int) -> Call:
    """Debit `units` from the account's available balance (never locked funds), once per
    `reference`."""
    return _transfer_call(account, asset, -_positive(units), reference, ts)


def _positive(units: int) -> int:
    if units <= 0:
        raise ValueError("a deposit or withdrawal must be positive")
    return units


def _transfer_call(account: int, asset: str, units: int, reference: str, ts: int) -> Call:
    if not reference:
        raise ValueError("a transfer needs a reference, its unique id")
    return TRANSFER.call(
        TransferKeys(
            balances=keys.balances(account),
            totals=keys.TOTALS,
            held=keys.HELD,
            accounts=keys.ACCOUNTS,
            journal=keys.JOURNAL,
            reference_key=keys.transfer(reference),
            version=keys.LEDGER_VERSION,
        ),
        TransferArgs(account=account, asset=asset, units=units, reference=reference, ts=ts),
    )


def transfer_result(reply: list[Any]) -> TransferResult:
    outcome = TransferOutcome(int(reply[0]))
    if outcome is TransferOutcome.REFERENCE_REUSED:
        account, asset, units = (as_text(part) for part in reply[1:4])
        return TransferResult(outcome, 0, (int(account), asset, int(units)))
    return TransferResult(outcome, int(as_text(reply[1])))
