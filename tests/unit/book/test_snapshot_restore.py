"""snapshot() -> restore() -> continue gives the same events and state hash as never stopping."""

from __future__ import annotations

import random

from cryptex.wire import (
    CancelOrder,
    Command,
    OrderType,
    PlaceOrder,
    SelfTradePrevention,
    Side,
    TimeInForce,
    decode_snapshot,
    encode,
)
from cryptex_engine.book import OrderBook
from tests.unit.book.orders import buy, resting


def random_flow(count: int, seed: int) -> list[Command]:
    rng = random.Random(seed)
    commands: list[Command] = []
    placed: list[tuple[int, int]] = []
    for ts in range(count):
        if placed and rng.random() < 0.25:
            order_id, account = placed[rng.randrange(len(placed))]
            commands.append(CancelOrder(order_id, account, ts))
            continue
        order_id, account = ts + 1, rng.randint(1, 6)
        placed.append((order_id, account))
        is_market = rng.random() < 0.05
        commands.append(
            PlaceOrder(
                order_id, account, rng.choice(list(Side)),
                0 if is_market else rng.randint(95, 105), rng.randint(1, 8), ts,
                order_type=OrderType.MARKET if is_market else OrderType.LIMIT,
                time_in_force=rng.choice(list(TimeInForce)),
                self_trade_prevention=rng.choice(list(SelfTradePrevention)),
                protection_price=rng.randint(95, 105) if is_market else 0,
            )
        )  # fmt: skip
    return commands


def test_a_restored_book_equals_the_original(seeded: OrderBook) -> None:
    restored = OrderBook.restore(decode_snapshot(encode(seeded.snapshot())))
    assert restored.state_hash() == seeded.state_hash()
    assert resting(restored) == resting(seeded)
    assert restored.depth(10) == seeded.depth(10)
    restored.check_invariants()


def test_restore_then_continue_matches_an_uninterrupted_run() -> None:
    commands = random_flow(4_000, seed=11)
    uninterrupted = OrderBook()
    expected = [uninterrupted.apply(command) for command in commands]

    first = OrderBook()
    for command in commands[:2_000]:
        first.apply(command)
    first.take_depth_diff()
    resumed = OrderBook.restore(decode_snapshot(encode(first.snapshot())))
    events = [resumed.apply(command) for command in commands[2_000:]]

    assert events == expected[2_000:]
    assert resumed.state_hash() == uninterrupted.state_hash()
    assert resumed.depth(50) == uninterrupted.depth(50)
    resumed.check_invariants()


def test_diffs_continue_after_a_restore(seeded: OrderBook) -> None:
    restored = OrderBook.restore(seeded.snapshot())
    assert restored.take_depth_diff() is None
    restored.apply(buy(10, account=9, price=100, qty=1))
    diff = restored.take_depth_diff()
    assert diff is not None
    assert diff.first_update_id == seeded.update_id + 1


def test_the_hash_tells_different_books_apart(seeded: OrderBook) -> None:
    before = seeded.state_hash()
    seeded.apply(buy(10, account=9, price=100, qty=1))
    assert seeded.state_hash() != before
