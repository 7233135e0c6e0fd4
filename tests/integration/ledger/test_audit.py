"""The audit finds every kind of broken money it promises to."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import redis

from cryptex import keys
from cryptex.ledger import Ledger
from cryptex.markets import MarketSpec
from cryptex.wire import PlaceOrder, Side
from tests.integration.ledger.conftest import TS
from tests.servers import RedisServer


def test_a_consistent_ledger_passes(ledger: Ledger, sol: MarketSpec) -> None:
    ledger.deposit(7, "USDC", 10_000_000, "d", TS)
    ledger.place(sol, PlaceOrder(11, 7, Side.BUY, 100, 100, TS))
    report = ledger.audit()
    assert report.ok, report.problems
    assert report.totals == report.held == {"USDC": 10_000_000}


def test_money_from_nowhere_is_found(ledger: Ledger, redis_client: redis.Redis) -> None:
    ledger.deposit(7, "USDC", 100, "d", TS)
    redis_client.hincrby(keys.balances(7), "USDC", 1)
    assert ledger.audit().problems == [
        "USDC: accounts hold 101 but deposits minus withdrawals are 100"
    ]
    redis_client.hincrby(keys.balances(7), "USDC", -1)


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
    assert (passed.returncode, json.loads(passed.stdout)["held"]) == (0, {"USDC": 100})
    redis_client.hincrby(keys.balances(7), "USDC", 1)
    failed = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert failed.returncode == 1
    assert json.loads(failed.stdout)["problems"] == [
        "USDC: accounts hold 101 but deposits minus withdrawals are 100"
    ]
    redis_client.hincrby(keys.balances(7), "USDC", -1)
