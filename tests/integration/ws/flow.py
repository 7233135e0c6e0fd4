"""A seeded random order flow through the ledger scripts: passive orders on both sides, orders
crossing the spread (GTC and IOC), and cancels of orders placed earlier. Prices stay within 40
ticks of 150.00, so each side has fewer levels than the depth snapshot's 100."""

from __future__ import annotations

import random
from collections.abc import Callable

from cryptex.ledger import PlaceOutcome
from cryptex.wire import Side, TimeInForce
from tests.integration.engine.harness import Exchange

ACCOUNTS = range(1, 7)


def fund(exchange: Exchange) -> None:
    for account in ACCOUNTS:
        exchange.fund(account, "USDC", "1000000")
        exchange.fund(account, "SOL", "10000")


def random_flow(
    exchange: Exchange, orders: int, seed: int, halfway: Callable[[], None] | None = None
) -> None:
    rng = random.Random(seed)
    placed: list[tuple[int, int]] = []  # (order id, account)
    for n in range(orders):
        if n == orders // 2 and halfway is not None:
            halfway()
        draw = rng.random()
        if draw < 0.2 and placed:
            order_id, account = placed.pop(rng.randrange(len(placed)))
            # Refused when it has filled meanwhile: that is part of the flow.
            exchange.ledger.request_cancel(order_id, account, exchange.next_ts())
            continue
        account = rng.choice(ACCOUNTS)
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        crossing = draw > 0.8
        offset = rng.randint(1, 40)
        cents = 15_000 + (offset if (side is Side.BUY) == crossing else -offset)
        quantity = f"{rng.randint(50, 2_000) / 1000:.3f}"
        options = {"time_in_force": TimeInForce.IOC} if crossing and rng.random() < 0.5 else {}
        result = exchange.place(account, side, f"{cents / 100:.2f}", quantity, **options)
        assert result.outcome is PlaceOutcome.PLACED, result
        placed.append((result.order_id, account))
