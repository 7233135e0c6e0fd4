"""Drive a real engine process: start it, kill it, place and cancel through the ledger scripts,
wait until what was queued is settled, and read back what it settled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import cast

import msgspec
import redis

from cryptex import keys
from cryptex.ledger import Ledger, PlaceOutcome, PlaceResult
from cryptex.markets import MarketSpec
from cryptex.wire import (
    CancelAllOrders,
    Command,
    Event,
    SetTradingState,
    Side,
    TakeSnapshot,
    TradingState,
    decode_command,
    encode,
)
from cryptex_engine.book import OrderBook
from cryptex_engine.service import Engine
from tests.servers import free_port
from tests.streams import entries

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "crds" / "examples"
_events = msgspec.msgpack.Decoder(list[Event])


class EngineProcess:
    """`python -m cryptex_engine` for one market, in local mode (manifest file)."""

    def __init__(
        self, redis_url: str, market: MarketSpec, log_dir: Path, *, from_registry: bool = False,
        **settings: str,
    ) -> None:  # fmt: skip
        self.market = market
        self.from_registry = from_registry
        self.log_path = log_dir / f"engine-{market.symbol}.log"
        self.metrics_port = free_port()
        self.env = {
            **os.environ,
            "CRYPTEX_REDIS_URL": redis_url,
            "CRYPTEX_METRICS_HOST": "127.0.0.1",
            "CRYPTEX_METRICS_PORT": str(self.metrics_port),
            "CRYPTEX_TRIM_COMMANDS": "false",  # the tests replay every command to compare
            "CRYPTEX_LEASE_TTL_MS": "1000",  # a killed engine's lease lapses quickly
            **{f"CRYPTEX_{name.upper()}": value for name, value in settings.items()},
        }
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, *, wait: bool = True) -> None:
        argv = [sys.executable, "-m", "cryptex_engine", "--market", self.market.symbol]
        if not self.from_registry:
            argv += ["--manifest", str(EXAMPLES / f"{self.market.resource_name}.yaml")]
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                argv, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        if wait:
            self.wait_healthy()

    def wait_healthy(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        url = f"http://127.0.0.1:{self.metrics_port}/healthz"
        while time.monotonic() < deadline:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"engine exited: {self.log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(url, timeout=1) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.02)
        raise TimeoutError(f"engine not healthy: {self.log_path.read_text()[-2000:]}")

    def metrics(self) -> str:
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        with urllib.request.urlopen(url, timeout=2) as response:
            return cast(bytes, response.read()).decode()

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> int:
        return self._signal(signal.SIGTERM)

    def _signal(self, sig: signal.Signals) -> int:
        if self.process is None:
            return 0
        self.process.send_signal(sig)
        code = self.process.wait(timeout=30)
        self.process = None
        return code


class Exchange:
    """Places and cancels the way the API does: ids from the ledger, times from a counter."""

    def __init__(self, client: redis.Redis, market: MarketSpec) -> None:
        self.redis = client
        self.ledger = Ledger(client)
        self.market = market
        self.symbol = market.symbol
        self._ids: Iterator[int] = iter(())
        self.ts = 1_700_000_000_000

    def next_ts(self) -> int:
        self.ts += 7
        return self.ts

    def next_id(self) -> int:
        order_id = next(self._ids, None)
        if order_id is None:
            self._ids = iter(self.ledger.allocate_order_ids(1_000))
            order_id = next(self._ids)
        return order_id

    def fund(self, account: int, asset: str, amount: str) -> None:
        spec = self.market.base if asset == self.market.base.symbol else self.market.quote
        self.ledger.deposit(
            account,
            asset,
            spec.to_units(amount),
            f"fund-{account}-{asset}-{self.next_ts()}",
            self.ts,
        )

    def place(
        self, account: int, side: Side, price: str | None, qty: str, **options: object
    ) -> PlaceResult:
        market = self.market
        ticks = market.price_to_ticks(price) if price is not None else 0
        if "protection_price" in options:
            options["protection_price"] = market.price_to_ticks(options["protection_price"])
        if "stop_price" in options:
            options["stop_price"] = market.price_to_ticks(options["stop_price"])
        from cryptex.wire import PlaceOrder

        command = PlaceOrder(
            self.next_id(), account, side, ticks, market.quantity_to_lots(qty), self.next_ts(),
            **options,  # type: ignore[arg-type]
        )  # fmt: skip
        return self.ledger.place(market, command)

    def placed(self, *args: object, **kwargs: object) -> int:
        result = self.place(*args, **kwargs)  # type: ignore[arg-type]
        assert result.outcome is PlaceOutcome.PLACED, result
        return result.order_id

    def cancel(self, order_id: int, account: int) -> None:
        result = self.ledger.request_cancel(order_id, account, self.next_ts())
        assert result.accepted, result

    def amend(self, order_id: int, account: int, quantity: str) -> None:
        lots = self.market.quantity_to_lots(quantity)
        result = self.ledger.request_amend(order_id, account, lots, self.next_ts())
        assert result.accepted, result

    def control(self, command: SetTradingState | CancelAllOrders | TakeSnapshot) -> None:
        self.redis.xadd(keys.commands(self.symbol), {keys.COMMAND_FIELD: encode(command)})

    def set_state(self, state: TradingState) -> None:
        self.control(SetTradingState(state, self.next_ts(), f"req-{state.value}"))

    def wait_settled(self, timeout: float = 20) -> None:
        """Until the engine has settled the last command queued so far."""
        last = entries_tail(self.redis, keys.commands(self.symbol))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            applied = self.redis.get(keys.applied(self.symbol))
            if last is None or (applied is not None and cast(bytes, applied).decode() == last):
                return
            time.sleep(0.01)
        raise TimeoutError(f"not settled up to {last}")

    def commands(self) -> list[Command]:
        return [
            decode_command(f[keys.COMMAND_FIELD.encode()])
            for _, f in entries(self.redis, keys.commands(self.symbol))
        ]

    def events(self) -> list[Event]:
        settled: list[Event] = []
        for _, fields in entries(self.redis, keys.events(self.symbol)):
            settled += _events.decode(fields[keys.EVENTS_FIELD.encode()])
        return settled


def entries_tail(client: redis.Redis, key: str) -> str | None:
    last = cast(list[tuple[bytes, dict[bytes, bytes]]], client.xrevrange(key, count=1))
    return last[0][0].decode() if last else None


def replay(market: MarketSpec, commands: list[Command]) -> tuple[OrderBook, list[Event]]:
    """The book and events of one uninterrupted run over `commands`."""
    book = OrderBook(market.trading_state)
    produced: list[Event] = []
    for command in commands:
        produced += book.apply(command)
    return book, produced


def settle_all(engine: Engine, exchange: Exchange) -> None:
    """Run the engine until it has settled every command queued so far."""
    last = entries_tail(exchange.redis, keys.commands(exchange.symbol))
    deadline = time.monotonic() + 10
    while engine.applied != last:
        assert time.monotonic() < deadline, f"not settled up to {last}"
        engine.run_once()
