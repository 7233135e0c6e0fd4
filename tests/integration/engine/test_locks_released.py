"""Whatever an order does not spend goes back: IOC and FOK remainders, market orders,
rejected post-only orders, self-trade prevention, cancels."""

from __future__ import annotations

from cryptex.ledger import Balance
from cryptex.wire import OrderStatus, OrderType, SelfTradePrevention, Side, TimeInForce
from tests.integration.engine.harness import EngineProcess, Exchange

THOUSAND_USDC = 1_000 * 10**6


def funded(exchange: Exchange) -> None:
    exchange.fund(1, "USDC", "1000")
    exchange.fund(2, "SOL", "10")
    exchange.placed(2, Side.SELL, "100", "1")


def status(exchange: Exchange, order_id: int) -> tuple[OrderStatus, str, int]:
    record = exchange.ledger.order(order_id)
    assert record is not None
    return record.status, record.reason, record.locked


def test_an_ioc_remainder_is_released(engine: EngineProcess, exchange: Exchange) -> None:
    funded(exchange)
    order = exchange.placed(1, Side.BUY, "100", "3", time_in_force=TimeInForce.IOC)
    exchange.wait_settled()
    assert status(exchange, order) == (OrderStatus.EXPIRED, "IOC", 0)
    # 1 SOL for 100 USDC and a 0.2 USDC taker fee; nothing stays locked.
    assert exchange.ledger.balances(1)["USDC"] == Balance(THOUSAND_USDC - 100_200_000, 0)


def test_an_unfillable_fok_releases_everything(engine: EngineProcess, exchange: Exchange) -> None:
    funded(exchange)
    order = exchange.placed(1, Side.BUY, "100", "3", time_in_force=TimeInForce.FOK)
    exchange.wait_settled()
    assert status(exchange, order) == (OrderStatus.EXPIRED, "FOK", 0)
    assert exchange.ledger.balances(1)["USDC"] == Balance(THOUSAND_USDC, 0)


def test_a_market_buy_releases_what_its_protection_price_reserved(
    engine: EngineProcess, exchange: Exchange
) -> None:
    funded(exchange)
    order = exchange.placed(
        1, Side.BUY, None, "1", order_type=OrderType.MARKET, protection_price="110"
    )
    exchange.wait_settled()
    assert status(exchange, order) == (OrderStatus.FILLED, "", 0)
    assert exchange.ledger.balances(1)["USDC"] == Balance(THOUSAND_USDC - 100_200_000, 0)


def test_a_rejected_post_only_releases_its_lock(engine: EngineProcess, exchange: Exchange) -> None:
    funded(exchange)
    order = exchange.placed(1, Side.BUY, "100", "1", post_only=True)
    exchange.wait_settled()
    assert status(exchange, order) == (OrderStatus.REJECTED, "POST_ONLY_WOULD_TAKE", 0)
    assert exchange.ledger.balances(1)["USDC"] == Balance(THOUSAND_USDC, 0)


def test_self_trade_prevention_releases_the_expired_makers_lock(
    engine: EngineProcess, exchange: Exchange
) -> None:
    exchange.fund(2, "SOL", "10")
    exchange.fund(2, "USDC", "1000")
    maker = exchange.placed(2, Side.SELL, "100", "1")
    taker = exchange.placed(
        2, Side.BUY, "100", "1", self_trade_prevention=SelfTradePrevention.EXPIRE_MAKER
    )
    exchange.wait_settled()
    assert status(exchange, maker) == (OrderStatus.EXPIRED, "SELF_TRADE", 0)
    assert status(exchange, taker)[0] is OrderStatus.NEW
    assert exchange.ledger.balances(2)["SOL"] == Balance(10 * 10**8, 0)


def test_a_cancel_releases_the_lock(engine: EngineProcess, exchange: Exchange) -> None:
    exchange.fund(1, "USDC", "1000")
    order = exchange.placed(1, Side.BUY, "90", "2")
    exchange.wait_settled()
    exchange.cancel(order, 1)
    exchange.wait_settled()
    assert status(exchange, order) == (OrderStatus.CANCELED, "", 0)
    assert exchange.ledger.balances(1)["USDC"] == Balance(THOUSAND_USDC, 0)
    assert exchange.redis.smembers("acct:1:open") == set()
    refused = exchange.ledger.request_cancel(order, 1, exchange.next_ts())
    assert (refused.accepted, refused.reason) == (False, "ORDER_NOT_OPEN")


def test_another_accounts_cancel_is_refused(engine: EngineProcess, exchange: Exchange) -> None:
    exchange.fund(1, "USDC", "1000")
    order = exchange.placed(1, Side.BUY, "90", "2")
    refused = exchange.ledger.request_cancel(order, 2, exchange.next_ts())
    assert (refused.accepted, refused.reason) == (False, "NOT_ORDER_OWNER")
    exchange.wait_settled()
    assert status(exchange, order)[0] is OrderStatus.NEW
