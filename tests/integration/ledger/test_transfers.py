"""Deposits and withdrawals: from available funds only, each journalled, totals kept."""

from __future__ import annotations

import pytest
import redis

from cryptex import keys
from cryptex.ledger import Balance, Ledger, TransferOutcome, TransferResult
from tests.integration.ledger.conftest import TS
from tests.streams import entries


def test_a_deposit_credits_available_and_is_journalled(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    assert ledger.deposit(7, "USDC", 500, "bank-1", TS) == TransferResult(TransferOutcome.DONE, 500)
    assert ledger.balances(7) == {"USDC": Balance(500, 0)}
    [(_, entry)] = entries(redis_client, keys.JOURNAL)
    assert entry == {
        b"account": b"7", b"asset": b"USDC", b"units": b"500", b"reference": b"bank-1",
        b"ts": str(TS).encode(),
    }  # fmt: skip
    assert redis_client.hget(keys.TOTALS, "USDC") == redis_client.hget(keys.HELD, "USDC") == b"500"


def test_a_withdrawal_debits_available(ledger: Ledger) -> None:
    ledger.deposit(7, "USDC", 500, "bank-1", TS)
    assert ledger.withdraw(7, "USDC", 200, "out-1", TS).available == 300
    assert ledger.balances(7) == {"USDC": Balance(300, 0)}


def test_a_withdrawal_beyond_available_changes_nothing(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ledger.deposit(7, "USDC", 500, "bank-1", TS)
    refused = ledger.withdraw(7, "USDC", 501, "out-1", TS)
    assert refused == TransferResult(TransferOutcome.INSUFFICIENT_FUNDS, 500)
    assert ledger.balances(7) == {"USDC": Balance(500, 0)}
    assert redis_client.xlen(keys.JOURNAL) == 1
    # Refused, the reference stays free for the transfer it names.
    ledger.deposit(7, "USDC", 1, "bank-2", TS)
    assert ledger.withdraw(7, "USDC", 501, "out-1", TS).outcome is TransferOutcome.DONE


@pytest.mark.parametrize("units", [0, -5])
def test_amounts_must_be_positive(ledger: Ledger, units: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        ledger.deposit(7, "USDC", units, "x", TS)
    with pytest.raises(ValueError, match="positive"):
        ledger.withdraw(7, "USDC", units, "x", TS)


def test_a_transfer_happens_once_per_reference(ledger: Ledger, redis_client: redis.Redis) -> None:
    assert ledger.deposit(7, "USDC", 500, "bank-1", TS).available == 500
    assert ledger.withdraw(7, "USDC", 100, "out-1", TS).available == 400
    # Retries answer what the first time did, whatever happened since, and move nothing.
    assert ledger.deposit(7, "USDC", 500, "bank-1", TS) == TransferResult(
        TransferOutcome.REPEATED, 500
    )
    assert ledger.withdraw(7, "USDC", 100, "out-1", TS) == TransferResult(
        TransferOutcome.REPEATED, 400
    )
    assert ledger.balances(7) == {"USDC": Balance(400, 0)}
    assert redis_client.xlen(keys.JOURNAL) == 2


def test_a_reference_names_one_transfer(ledger: Ledger, redis_client: redis.Redis) -> None:
    """A withdrawal that reuses a deposit's reference used to answer success and debit
    nothing: a custody system paying out on that answer lost the funds."""
    assert ledger.deposit(7, "USDC", 1_000, "ref-1", TS).outcome is TransferOutcome.DONE
    first = (7, "USDC", 1_000)
    for attempt in (
        ledger.withdraw(7, "USDC", 400, "ref-1", TS),  # another direction
        ledger.deposit(7, "USDC", 5_000, "ref-1", TS),  # another amount
        ledger.deposit(8, "USDC", 1_000, "ref-1", TS),  # another account
        ledger.deposit(7, "SOL", 1_000, "ref-1", TS),  # another asset
        ledger.withdraw(7, "USDC", 1_000, "ref-1", TS),  # the same amount, out
    ):
        assert attempt == TransferResult(TransferOutcome.REFERENCE_REUSED, 0, first)
    assert ledger.balances(7) == {"USDC": Balance(1_000, 0)}
    assert ledger.balances(8) == {}
    assert redis_client.xlen(keys.JOURNAL) == 1
    assert ledger.audit().totals == {"USDC": 1_000}


def test_a_transfer_needs_a_reference(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="reference"):
        ledger.deposit(7, "USDC", 500, "", TS)
