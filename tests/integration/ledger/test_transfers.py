"""Deposits and withdrawals: from available funds only, each journalled, totals kept."""

from __future__ import annotations

import pytest
import redis

from cryptex import keys
from cryptex.ledger import Balance, Ledger
from tests.integration.ledger.conftest import TS
from tests.streams import entries


def test_a_deposit_credits_available_and_is_journalled(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    assert ledger.deposit(7, "USDC", 500, "bank-1", TS) == 500
    assert ledger.balances(7) == {"USDC": Balance(500, 0)}
    [(_, entry)] = entries(redis_client, keys.JOURNAL)
    assert entry == {
        b"account": b"7", b"asset": b"USDC", b"units": b"500", b"reference": b"bank-1",
        b"ts": str(TS).encode(),
    }  # fmt: skip
    assert redis_client.hget(keys.TOTALS, "USDC") == b"500"


def test_a_withdrawal_debits_available(ledger: Ledger) -> None:
    ledger.deposit(7, "USDC", 500, "bank-1", TS)
    assert ledger.withdraw(7, "USDC", 200, "out-1", TS) == 300
    assert ledger.balances(7) == {"USDC": Balance(300, 0)}


def test_a_withdrawal_beyond_available_changes_nothing(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ledger.deposit(7, "USDC", 500, "bank-1", TS)
    assert ledger.withdraw(7, "USDC", 501, "out-1", TS) is None
    assert ledger.balances(7) == {"USDC": Balance(500, 0)}
    assert redis_client.xlen(keys.JOURNAL) == 1


@pytest.mark.parametrize("units", [0, -5])
def test_amounts_must_be_positive(ledger: Ledger, units: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        ledger.deposit(7, "USDC", units, "x", TS)
    with pytest.raises(ValueError, match="positive"):
        ledger.withdraw(7, "USDC", units, "x", TS)


def test_a_transfer_happens_once_per_reference(ledger: Ledger, redis_client: redis.Redis) -> None:
    assert ledger.deposit(7, "USDC", 500, "bank-1", TS) == 500
    assert ledger.deposit(7, "USDC", 500, "bank-1", TS) == 500  # a retry: nothing more
    assert ledger.withdraw(7, "USDC", 100, "out-1", TS) == 400
    assert ledger.withdraw(7, "USDC", 100, "out-1", TS) == 400
    assert redis_client.xlen(keys.JOURNAL) == 2


def test_a_transfer_needs_a_reference(ledger: Ledger) -> None:
    with pytest.raises(ValueError, match="reference"):
        ledger.deposit(7, "USDC", 500, "", TS)
