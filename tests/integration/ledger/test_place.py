"""The place script: funds locked, order recorded, command queued, atomically and once."""

from __future__ import annotations

import dataclasses

import msgspec
import redis

from cryptex import keys
from cryptex.ledger import Balance, Ledger, PlaceOutcome
from cryptex.markets import MarketSpec
from cryptex.wire import OrderStatus, PlaceOrder, Side, TimeInForce
from tests.integration.ledger.conftest import TS
from tests.streams import queued_commands

USDC, SOL = 1_000_000, 100_000_000  # one of each, in units


def test_a_buy_locks_notional_and_fee_reserve_and_is_queued_commands(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    result = ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 15_025, 1_500, TS))
    lock = sol.buy_lock(15_025, 1_500)
    assert result.outcome is PlaceOutcome.PLACED
    assert ledger.balances(7) == {"USDC": Balance(1_000 * USDC - lock, lock)}
    record = ledger.order(11)
    assert record is not None
    assert (record.status, record.locked, record.lock_asset, record.market) == (
        OrderStatus.NEW, lock, "USDC", "SOL_USDC",
    )  # fmt: skip
    [command] = queued_commands(redis_client, "SOL_USDC")
    assert command == result.command
    assert (command.locked, command.maker_fee_bps, command.taker_fee_bps) == (lock, 10, 20)
    assert redis_client.smembers(keys.open_orders(7)) == {b"11"}


def test_a_sell_locks_its_base_quantity(ledger: Ledger, sol: MarketSpec) -> None:
    ledger.deposit(7, "SOL", 2 * SOL, "d1", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.SELL, 15_025, 1_500, TS))
    assert ledger.balances(7) == {"SOL": Balance(SOL // 2, 3 * SOL // 2)}


def test_insufficient_funds_change_nothing(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 10 * USDC, "d1", TS)
    result = ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 15_025, 1_500, TS))
    assert result.outcome is PlaceOutcome.INSUFFICIENT_FUNDS
    assert ledger.balances(7) == {"USDC": Balance(10 * USDC, 0)}
    assert ledger.order(11) is None
    assert queued_commands(redis_client, "SOL_USDC") == []


def test_a_client_order_id_replay_returns_the_first_order(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    first = ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS, client_order_id="abc"))
    again = ledger.place(sol, PlaceOrder(12, 7, Side.BUY, 100, 100, TS, client_order_id="abc"))
    assert (again.outcome, again.order_id) == (PlaceOutcome.DUPLICATE, first.order_id)
    assert ledger.order(12) is None
    assert len(queued_commands(redis_client, "SOL_USDC")) == 1
    assert ledger.balances(7)["USDC"].locked == sol.buy_lock(100, 100)


def test_the_same_client_order_id_is_free_for_another_account(
    ledger: Ledger, sol: MarketSpec
) -> None:
    for account in (7, 8):
        ledger.deposit(account, "USDC", 10 * USDC, f"d{account}", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS, client_order_id="abc"))
    other = ledger.place(sol, PlaceOrder(12, 8, Side.BUY, 100, 100, TS, client_order_id="abc"))
    assert other.outcome is PlaceOutcome.PLACED


def test_scripts_reload_after_a_script_flush(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 10 * USDC, "d1", TS)
    redis_client.script_flush()
    assert ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS)).outcome is (
        PlaceOutcome.PLACED
    )


def test_order_ids_come_in_disjoint_blocks(ledger: Ledger) -> None:
    first, second = ledger.allocate_order_ids(100), ledger.allocate_order_ids(100)
    assert (first, second) == (range(1, 101), range(101, 201))


def test_placing_the_same_order_again_changes_nothing(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    """What a client retry after a lost reply does: the order stays placed once."""
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    command = PlaceOrder(11, 7, Side.BUY, 100, 100, TS)
    first, again = ledger.place(sol, command), ledger.place(sol, command)
    assert (first.outcome, again.outcome) == (PlaceOutcome.PLACED, PlaceOutcome.PLACED)
    assert again.order_id == 11
    assert len(queued_commands(redis_client, "SOL_USDC")) == 1
    assert ledger.balances(7)["USDC"].locked == sol.buy_lock(100, 100)


def test_ledger_clients_do_not_retry_by_themselves(redis_server: object) -> None:
    from cryptex.redis_access import connect

    client = connect("redis://127.0.0.1:1/0")
    retry = client.get_retry()
    assert retry is not None
    assert retry.get_retries() == 0


def test_a_client_order_id_reused_for_other_terms_is_refused(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    """A retry carries the same terms; the same id with anything else is a client's mistake,
    not the first order: it is refused and changes nothing."""
    ledger.deposit(7, "USDC", 1_000 * USDC, "d1", TS)
    ledger.deposit(7, "SOL", 10 * SOL, "d2", TS)
    first = PlaceOrder(11, 7, Side.BUY, 100, 100, TS, client_order_id="abc")
    ledger.place(sol, first)
    before = ledger.balances(7)
    for order_id, other in enumerate(
        (
            msgspec.structs.replace(first, side=Side.SELL),
            msgspec.structs.replace(first, price=101),
            msgspec.structs.replace(first, quantity=101),
            msgspec.structs.replace(first, time_in_force=TimeInForce.IOC),
            msgspec.structs.replace(first, post_only=True),
        ),
        start=12,
    ):
        refused = ledger.place(sol, msgspec.structs.replace(other, order_id=order_id))
        assert (refused.outcome, refused.order_id) == (PlaceOutcome.CLIENT_ORDER_ID_REUSED, 11)
        assert ledger.order(order_id) is None
    assert ledger.balances(7) == before
    assert len(queued_commands(redis_client, "SOL_USDC")) == 1


def test_a_client_order_id_in_another_market_is_another_order(
    ledger: Ledger, markets: dict[str, MarketSpec]
) -> None:
    ledger.deposit(7, "USDC", 1_000_000 * USDC, "d1", TS)
    ledger.place(
        markets["SOL_USDC"], PlaceOrder(11, 7, Side.BUY, 100, 100, TS, client_order_id="x")
    )
    other = ledger.place(
        markets["BTC_USDC"], PlaceOrder(12, 7, Side.BUY, 100, 100, TS, client_order_id="x")
    )
    assert other.outcome is PlaceOutcome.CLIENT_ORDER_ID_REUSED


def test_open_orders_per_account_and_market_are_bounded(
    ledger: Ledger, redis_client: redis.Redis, markets: dict[str, MarketSpec]
) -> None:
    sol = dataclasses.replace(markets["SOL_USDC"], max_open_orders=2)
    ledger.deposit(7, "USDC", 1_000_000 * USDC, "d1", TS)
    ledger.deposit(8, "USDC", 1_000_000 * USDC, "d2", TS)
    for order_id in (11, 12):
        assert ledger.place(sol, PlaceOrder(order_id, 7, Side.BUY, 100, 100, TS)).outcome is (
            PlaceOutcome.PLACED
        )
    before = ledger.balances(7)
    refused = ledger.place(sol, PlaceOrder(13, 7, Side.BUY, 100, 100, TS))
    assert refused.outcome is PlaceOutcome.TOO_MANY_OPEN_ORDERS
    assert (ledger.balances(7), ledger.order(13)) == (before, None)
    assert redis_client.hget(keys.open_order_counts(7), "SOL_USDC") == b"2"
    # Another account, and another market, have limits of their own.
    assert ledger.place(sol, PlaceOrder(14, 8, Side.BUY, 100, 100, TS)).outcome is (
        PlaceOutcome.PLACED
    )
    btc = markets["BTC_USDC"]
    assert ledger.place(btc, PlaceOrder(15, 7, Side.BUY, 100, 100, TS)).outcome is (
        PlaceOutcome.PLACED
    )
