"""The audit finds every kind of broken money it promises to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading

import redis

from cryptex import keys
from cryptex.ledger import Ledger, SettleBatch
from cryptex.markets import MarketSpec
from cryptex.redis_access import connect
from cryptex.wire import PlaceOrder, Side
from tests.integration.ledger.conftest import TS
from tests.integration.ledger.settling import DirectSettler
from tests.servers import RedisServer


def test_a_consistent_ledger_passes(ledger: Ledger, sol: MarketSpec) -> None:
    ledger.deposit(7, "USDC", 10_000_000, "d", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS))
    report = ledger.audit()
    assert report.ok, report.problems
    assert report.totals == report.held == report.recounted == {"USDC": 10_000_000}


def test_money_a_settle_creates_is_found(ledger: Ledger, redis_client: redis.Redis) -> None:
    ledger.deposit(7, "USDC", 100, "d", TS)
    batch = SettleBatch()
    batch.move(keys.FEE_ACCOUNT, "USDC", 1)  # a fee with no payer
    DirectSettler(ledger, redis_client, "SOL_USDC").settle(batch)
    assert ledger.audit().problems == [
        "USDC: accounts hold 101 but deposits minus withdrawals are 100"
    ]
    redis_client.hincrby(keys.HELD, "USDC", -1)
    redis_client.hincrby(keys.balances(keys.FEE_ACCOUNT), "USDC", -1)


def test_money_written_around_the_scripts_is_found_by_the_recount(
    ledger: Ledger, redis_client: redis.Redis
) -> None:
    ledger.deposit(7, "USDC", 100, "d", TS)
    redis_client.hincrby(keys.balances(7), "USDC", 1)
    assert ledger.audit().problems == ["USDC: the accounts hold 101 but the running total is 100"]
    redis_client.hincrby(keys.balances(7), "USDC", -1)


def test_an_open_order_count_that_disagrees_is_found(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 10_000_000, "d", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS))
    redis_client.hincrby(keys.open_order_counts(7), "SOL_USDC", 1)
    assert ledger.audit().problems == ["account 7: counts 2 open orders in SOL_USDC but has 1"]
    redis_client.hincrby(keys.open_order_counts(7), "SOL_USDC", -1)


def test_the_audit_is_exact_while_trading_goes_on(
    ledger: Ledger, redis_client: redis.Redis, redis_server: RedisServer, sol: MarketSpec
) -> None:
    """Trades settle between the audit's reads of one account and the next: conservation is
    still exact (running totals), and the recount is only made from a pass that saw one
    instant."""
    for account in range(1, 21):
        ledger.deposit(account, "USDC", 1_000_000, f"d{account}", TS)
    trader = Ledger(connect(redis_server.url))
    moving = DirectSettler(trader, trader.redis, "SOL_USDC")
    stop = threading.Event()
    settled = 0

    def trade() -> None:  # money going round the accounts, batch after batch
        nonlocal settled
        while not stop.is_set():
            payer = 1 + settled % 20
            batch = SettleBatch()
            batch.move(payer, "USDC", -7)
            batch.move(1 + (payer % 20), "USDC", 5)
            batch.move(keys.FEE_ACCOUNT, "USDC", 2)
            moving.settle(batch)
            settled += 1

    trading = threading.Thread(target=trade)
    trading.start()
    try:
        reports = [ledger.audit() for _ in range(20)]
    finally:
        stop.set()
        trading.join()
    assert settled > 0
    assert all(report.ok for report in reports), [r.problems for r in reports if not r.ok]
    assert {report.held["USDC"] for report in reports} == {20_000_000}
    assert any(report.recounted is None for report in reports)  # some passes saw trades
    quiet = ledger.audit()
    assert quiet.recounted == quiet.held == {"USDC": 20_000_000}
    trader.redis.close()


def test_a_negative_balance_is_found(ledger: Ledger, redis_client: redis.Redis) -> None:
    ledger.deposit(7, "USDC", 100, "d", TS)
    ledger.deposit(8, "USDC", 100, "d8", TS)
    redis_client.hincrby(keys.balances(7), "USDC", -150)
    redis_client.hincrby(keys.balances(8), "USDC", 150)
    assert ledger.audit().problems == ["account 7: USDC is negative (-50)"]
    redis_client.hincrby(keys.balances(7), "USDC", 150)
    redis_client.hincrby(keys.balances(8), "USDC", -150)


def test_a_lock_no_open_order_holds_is_found(
    ledger: Ledger, redis_client: redis.Redis, sol: MarketSpec
) -> None:
    ledger.deposit(7, "USDC", 10_000_000, "d", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS))
    redis_client.hincrby(keys.order(11), "locked", -1)
    lock = sol.buy_lock(100, 100)
    assert ledger.audit().problems == [
        f"account 7: USDC locked {lock} but its open orders hold {lock - 1}"
    ]
    redis_client.hincrby(keys.order(11), "locked", 1)


def test_the_audit_command_reports_and_exits_by_the_result(
    ledger: Ledger, redis_client: redis.Redis, redis_server: RedisServer
) -> None:
    ledger.deposit(7, "USDC", 100, "d", TS)
    env = {**os.environ, "CRYPTEX_REDIS_URL": redis_server.url}
    command = [sys.executable, "-m", "cryptex_engine.audit"]
    passed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert passed.returncode == 0
    report = json.loads(passed.stdout)
    assert report["held"] == report["recounted"] == {"USDC": 100}
    redis_client.hincrby(keys.balances(7), "USDC", 1)
    failed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["problems"] == [
        "USDC: the accounts hold 101 but the running total is 100"
    ]
    redis_client.hincrby(keys.balances(7), "USDC", -1)
