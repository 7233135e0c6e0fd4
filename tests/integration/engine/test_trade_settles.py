"""A trade through the scripts and a real engine: exact balances, fees, records, audit."""

from __future__ import annotations

from cryptex.ledger import Balance
from cryptex.wire import OrderStatus, Side
from tests.integration.engine.harness import EngineProcess, Exchange


def usdc(amount: str) -> int:
    whole, _, fraction = amount.partition(".")
    return int(whole) * 10**6 + int((fraction + "000000")[:6])


def test_a_crossing_limit_settles_at_the_makers_price(
    engine: EngineProcess, exchange: Exchange
) -> None:
    exchange.fund(1, "USDC", "10000")
    exchange.fund(2, "SOL", "100")
    maker = exchange.placed(2, Side.SELL, "150.00", "2")
    taker = exchange.placed(1, Side.BUY, "151.00", "1.5")
    exchange.wait_settled()

    ledger = exchange.ledger
    # 1.5 SOL x 150 = 225 USDC; taker pays 20 bps (0.45), maker 10 bps (0.225).
    assert ledger.balances(1) == {
        "SOL": Balance(150_000_000, 0),
        "USDC": Balance(usdc("10000") - usdc("225.45"), 0),  # the 151 limit's excess released
    }
    assert ledger.balances(2) == {
        "SOL": Balance(98 * 10**8, 50_000_000),  # 0.5 SOL still offered
        "USDC": Balance(usdc("224.775"), 0),
    }
    assert ledger.balances(0) == {"USDC": Balance(usdc("0.675"), 0)}
    maker_record, taker_record = ledger.order(maker), ledger.order(taker)
    assert maker_record is not None
    assert taker_record is not None
    assert (maker_record.status, maker_record.executed, maker_record.locked) == (
        OrderStatus.PARTIALLY_FILLED, 1_500, 50_000_000,
    )  # fmt: skip
    assert (taker_record.status, taker_record.executed, taker_record.executed_quote) == (
        OrderStatus.FILLED, 1_500, usdc("225"),
    )  # fmt: skip


def test_a_resting_order_stays_open_with_its_lock(
    engine: EngineProcess, exchange: Exchange
) -> None:
    exchange.fund(1, "USDC", "1000")
    order_id = exchange.placed(1, Side.BUY, "100", "1")
    exchange.wait_settled()
    record = exchange.ledger.order(order_id)
    assert record is not None
    assert (record.status, record.locked) == (
        OrderStatus.NEW,
        exchange.market.buy_lock(10_000, 1_000),
    )


def test_the_engine_counts_what_it_did(engine: EngineProcess, exchange: Exchange) -> None:
    exchange.fund(1, "USDC", "1000")
    exchange.placed(1, Side.BUY, "100", "1")
    exchange.wait_settled()
    metrics = engine.metrics()
    assert 'cryptex_engine_commands_total{market="SOL_USDC",type="PlaceOrder"} 1.0' in metrics
    assert 'cryptex_engine_resting_orders{market="SOL_USDC"} 1.0' in metrics
