"""Amounts over the whole 64-bit range that Redis keeps: exact in every script, and refused
before anything moves when a change would pass it. Lua numbers are doubles: 2^53 + 1 is not
one, and tostring() prints 1e+14 for 10^14, which is why no script treats an amount as one."""

from __future__ import annotations

import pytest
import redis

from cryptex import keys
from cryptex.ledger import (
    Balance,
    Ledger,
    LedgerError,
    PlaceOutcome,
    SettleBatch,
    TransferOutcome,
    TransferResult,
)
from cryptex.markets import AssetSpec, MarketSpec
from cryptex.money import parse_decimal
from cryptex.wire import PlaceOrder, Side
from tests.integration.ledger.conftest import TS
from tests.integration.ledger.settling import DirectSettler

INT64_MAX = 2**63 - 1
LARGE = [10**14, 2**53, 2**53 + 1, INT64_MAX]


def whole_units_market() -> MarketSpec:
    """A market where a price times a quantity is the lock itself, in units (no fees)."""
    one = parse_decimal("1", "step")
    return MarketSpec(
        base=AssetSpec("BIG", 0), quote=AssetSpec("UNIT", 0), tick_size=one, lot_size=one,
        min_qty=1, max_qty=2**62, min_notional=0, maker_fee_bps=0, taker_fee_bps=0,
    )  # fmt: skip


@pytest.mark.parametrize("units", LARGE)
def test_a_large_deposit_and_withdrawal_are_exact(ledger: Ledger, units: int) -> None:
    assert ledger.deposit(7, "USDC", units, "in", TS) == TransferResult(TransferOutcome.DONE, units)
    assert ledger.deposit(7, "USDC", units, "in", TS) == TransferResult(
        TransferOutcome.REPEATED, units
    )
    assert ledger.balances(7) == {"USDC": Balance(units, 0)}
    assert ledger.withdraw(7, "USDC", units - 1, "out", TS).available == 1
    report = ledger.audit()
    assert report.totals == report.held == report.recounted == {"USDC": 1}


def test_a_transfer_past_the_64_bit_range_is_refused_before_anything_moves(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ledger.deposit(7, "USDC", INT64_MAX - 1, "a", TS)
    assert ledger.deposit(7, "USDC", 2, "b", TS) == TransferResult(
        TransferOutcome.OVERFLOW, INT64_MAX - 1
    )
    # The asset's total bounds every balance: no other account can pass it either.
    assert ledger.deposit(8, "USDC", 2, "c", TS).outcome is TransferOutcome.OVERFLOW
    assert ledger.deposit(8, "USDC", 1, "d", TS).outcome is TransferOutcome.DONE
    assert ledger.balances(7) == {"USDC": Balance(INT64_MAX - 1, 0)}
    assert ledger.balances(8) == {"USDC": Balance(1, 0)}
    assert redis_client.xlen(keys.JOURNAL) == 2
    assert ledger.audit().totals == {"USDC": INT64_MAX}
    # The refused references are free for the transfers they name.
    assert ledger.withdraw(7, "USDC", 10, "e", TS).outcome is TransferOutcome.DONE
    assert ledger.deposit(7, "USDC", 2, "b", TS).outcome is TransferOutcome.DONE


def test_a_lock_one_unit_beyond_a_balance_of_2_53_is_refused(ledger: Ledger) -> None:
    market = whole_units_market()
    ledger.deposit(7, "UNIT", 2**53, "d", TS)
    # 2^53 + 1 = 321 x 28,059,810,762,433: as doubles, it and 2^53 are the same number.
    refused = ledger.place(market, PlaceOrder(11, 7, Side.BUY, 321, 28_059_810_762_433, TS))
    assert refused.outcome is PlaceOutcome.INSUFFICIENT_FUNDS
    assert ledger.balances(7) == {"UNIT": Balance(2**53, 0)}
    placed = ledger.place(market, PlaceOrder(12, 7, Side.BUY, 2, 2**52, TS))
    assert placed.outcome is PlaceOutcome.PLACED
    assert ledger.balances(7) == {"UNIT": Balance(0, 2**53)}


def test_a_lock_near_the_64_bit_limit_is_exact(ledger: Ledger) -> None:
    market = whole_units_market()
    ledger.deposit(7, "UNIT", INT64_MAX, "d", TS)
    assert ledger.place(market, PlaceOrder(11, 7, Side.BUY, 2, 2**62 - 1, TS)).outcome is (
        PlaceOutcome.PLACED
    )
    assert ledger.balances(7) == {"UNIT": Balance(INT64_MAX - 2**63 + 2, 2**63 - 2)}
    order = ledger.order(11)
    assert order is not None
    assert order.locked == 2**63 - 2


def test_a_lock_that_would_pass_the_64_bit_limit_is_refused(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    """Only a ledger already broken (a locked balance no order holds) can get there; even then
    the script refuses before its first write, rather than fail halfway."""
    market = whole_units_market()
    ledger.deposit(7, "UNIT", 10, "d", TS)
    redis_client.hset(keys.balances(7), keys.locked_field("UNIT"), INT64_MAX - 5)
    refused = ledger.place(market, PlaceOrder(11, 7, Side.BUY, 1, 6, TS))
    assert refused.outcome is PlaceOutcome.BALANCE_OVERFLOW
    assert ledger.balances(7) == {"UNIT": Balance(10, INT64_MAX - 5)}
    assert ledger.order(11) is None
    redis_client.hdel(keys.balances(7), keys.locked_field("UNIT"))


def test_a_settle_moves_large_amounts_exactly(ledger: Ledger, redis_client: redis.Redis) -> None:
    ledger.deposit(7, "UNIT", INT64_MAX, "d", TS)
    batch = SettleBatch()
    batch.move(7, "UNIT", -(INT64_MAX - 2))
    batch.move(8, "UNIT", INT64_MAX - 5)
    batch.move(keys.FEE_ACCOUNT, "UNIT", 3)
    DirectSettler(ledger, redis_client, "BIG_UNIT").settle(batch)
    assert ledger.balances(7) == {"UNIT": Balance(2, 0)}
    assert ledger.balances(8) == {"UNIT": Balance(INT64_MAX - 5, 0)}
    assert ledger.balances(keys.FEE_ACCOUNT) == {"UNIT": Balance(3, 0)}
    redis_client.sadd(keys.ACCOUNTS, 8)  # a trader the settle credited, as a deposit would list
    report = ledger.audit()
    assert report.ok, report.problems
    assert report.totals == report.held == report.recounted == {"UNIT": INT64_MAX}


def test_a_settle_debit_one_unit_beyond_2_53_is_refused(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ledger.deposit(7, "UNIT", 2**53, "d", TS)
    batch = SettleBatch()
    batch.move(7, "UNIT", -(2**53 + 1))
    batch.move(8, "UNIT", 2**53 + 1)
    settler = DirectSettler(ledger, redis_client, "BIG_UNIT")
    with pytest.raises(LedgerError, match=r"NEGATIVE_BALANCE.*'-1'"):
        settler.settle(batch)
    assert ledger.balances(7) == {"UNIT": Balance(2**53, 0)}
    assert ledger.balances(8) == {}
    assert redis_client.get(keys.applied("BIG_UNIT")) is None


def test_a_settle_past_the_64_bit_limit_is_refused_before_anything_moves(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ledger.deposit(7, "UNIT", INT64_MAX, "d", TS)
    batch = SettleBatch()
    batch.move(7, "UNIT", -1)
    batch.move(8, "UNIT", 1)
    batch.move(keys.FEE_ACCOUNT, "UNIT", INT64_MAX)  # from nowhere, and past the limit
    with pytest.raises(LedgerError, match="OVERFLOW"):
        DirectSettler(ledger, redis_client, "BIG_UNIT").settle(batch)
    assert ledger.balances(7) == {"UNIT": Balance(INT64_MAX, 0)}
    assert ledger.balances(8) == ledger.balances(keys.FEE_ACCOUNT) == {}
    assert redis_client.get(keys.applied("BIG_UNIT")) is None
