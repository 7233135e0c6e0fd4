"""The chart's dashboards and alerts on live data: a stack with Prometheus and Alertmanager
(`make up`'s own, scraping every second, the chart's rules with a `for` of seconds), loaded by
traders, WebSocket clients and the market maker.

In file order: a healthy loaded stack fires no alert; every dashboard panel returns series;
each alert fires on its fault (caused for real on the stack's processes), reaches Alertmanager
and alerts.log, and resolves when the fault is removed; then the panels that only have data
after a fault.
"""

from __future__ import annotations

import asyncio
import json
import re
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from cryptex import keys
from tests.e2e.harness import StackRun, Trader, sign_up
from tests.e2e.monitoring import (
    ALERTS,
    DASHBOARDS,
    Killed,
    Watch,
    kill,
    monitoring,
    revive,
    settled,
    stalled,
    wait_until,
)  # fmt: skip

HOLD = "3s"  # every rule's `for`
# Thresholds a test can reach in seconds: the rate rules over 30 s, not 5 minutes; lags of a few
# seconds; the latencies' p99 under what a healthy stack shows on a busy machine, over what a
# Redis that pauses its writers gives.
THRESHOLDS = {
    "rateWindow": "30s", "engineLagSeconds": "5", "dbprocLagSeconds": "5",
    "wsDropsPerSecond": "0.01", "settleP99Seconds": "0.5", "apiOrderP99Seconds": "0.75",
}  # fmt: skip
# Grafana's variables: $market takes each value its variable query finds.
RATE_INTERVAL = "30s"
# Panels whose series exist only once their fault happened: title -> that fault.
AFTER_FAULT = {
    "Server errors (5xx) ratio": "Redis down (CryptexApiErrorRate)",
    "API server errors": "Redis down (CryptexApiErrorRate)",
    "Market maker errors": "the API down (CryptexApiDown)",
    "Duplicate trades skipped": "the DB processor's events delivered again",
    "Disconnects by reason": "a WebSocket client past its message rate",
    "Markets subscribed; undecodable messages": "an undecodable message on a market channel",
}
# Every alert this file causes; the rest are listed as left to do in the README.
CAUSED = {
    "CryptexEngineDown", "CryptexEnginesMissing", "CryptexApiDown", "CryptexDbprocDown",
    "CryptexRedisMemoryHigh", "CryptexRedisDown", "CryptexWebSocketRedisDown",
    "CryptexApiErrorRate", "CryptexEngineLag", "CryptexDbprocLag", "CryptexApiOrderLatencyHigh",
    "CryptexWebSocketDrops",
}  # fmt: skip
# Not caused yet: CryptexSettleLatencyHigh. Redis pausing its writers catches an engine in its
# settle call too seldom on an idle machine (it mostly waits in XREADGROUP, paused as well) for
# the p99 to pass: it fired on a busy machine and not on an idle one.
POLICY_VIOLATION = 1008  # the close code of a dropped WebSocket client
LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}
LOGGER = re.compile(r"[a-z_]+(\.[a-z_]+)*")  # a module's name: no id ever in it
FUNDS = {"USDC": "50000", "SOL": "200", "BTC": "1", "ETH": "10"}
# market -> (a buy price above every ask, a sell price below every bid, a quantity): the
# market maker quotes about 150, 60000 and 3000.
CROSSING = {
    "SOL_USDC": ("1000.00", "100.00", "0.1"),
    "BTC_USDC": ("120000.0", "30000.0", "0.001"),
    "ETH_USDC": ("6000.00", "1500.00", "0.01"),
}
SOL = "SOL_USDC"


@pytest.fixture(scope="module")
def watch() -> Iterator[Watch]:
    options = ["--monitoring-interval", "1", "--alert-for", HOLD]
    for name, value in THRESHOLDS.items():
        options += ["--alert-threshold", f"{name}={value}"]
    run = StackRun(*options)
    watch = Watch(run)
    try:
        run.up()
        yield watch
    finally:
        run.remove()
        for process in watch.revived:  # stopped by `down`: reaped here, their parent
            process.wait(timeout=30)


async def load(run: StackRun) -> None:
    """Orders that rest and are cancelled, orders that trade with the market maker's quotes in
    every market, a burst past the order rate limit (429s), and a WebSocket client, subscribed,
    that sends a request the server refuses."""
    trader: Trader = await sign_up(run, FUNDS)
    client = await run.ws_client()
    try:
        async with trader.http:
            await client.subscribe(f"trades@{SOL}", f"depth@{SOL}", f"ticker@{SOL}")
            for _ in range(5):
                resting = await trader.place("buy", "1.00", "10", SOL)
                await trader.cancel(resting["orderId"])
                for market, (above, below, quantity) in CROSSING.items():
                    await trader.place("buy", above, quantity, market, timeInForce="IOC")
                    await trader.place("sell", below, quantity, market, timeInForce="IOC")
            await client.send({"method": "NO_SUCH_METHOD", "params": [], "id": 7})
            # The limit is 50 a second with a burst of 100, spent before any check: orders
            # under the minimum notional, refused at once (400), sent 200 at a time until one
            # meets the limit (how many depends on the machine's speed).
            body = {"side": "buy", "type": "limit", "price": "1.00", "quantity": "1",
                    "market": SOL}  # fmt: skip
            answers: set[int] = set()
            for _ in range(20):
                burst = await asyncio.gather(
                    *(trader.http.post("/api/v1/order", json=body) for _ in range(200))
                )
                answers |= {answer.status_code for answer in burst}
                if 429 in answers:
                    break
            assert answers == {400, 429}
            await trader.cancel_all()
    finally:
        await client.close()


def panel_queries(watch: Watch) -> Iterator[tuple[str, str, str]]:
    """(dashboard, panel title, query) for every target, with each value of $market."""
    for path in DASHBOARDS:
        board: dict[str, Any] = json.loads(path.read_text())
        markets = ["$market"]
        for variable in board["templating"]["list"]:
            if variable["name"] == "market":
                series = variable["query"]["query"].removeprefix("label_values(").split(",")[0]
                markets = watch.label_values("market", series)
                yield path.name, "variable $market", series  # empty: the variable has no value
        for panel in board["panels"]:
            for target in panel["targets"]:
                expr = target["expr"].replace("$__rate_interval", RATE_INTERVAL)
                for market in markets:
                    yield path.name, panel["title"], expr.replace("$market", market)


def empty_panels(watch: Watch, *, after_fault: bool) -> list[str]:
    return [
        f"{board}: {title}: {expr}"
        for board, title, expr in panel_queries(watch)
        if (title in AFTER_FAULT) == after_fault and not watch.query(expr)
    ]


def test_a_healthy_loaded_stack_fires_no_alert(watch: Watch) -> None:
    asyncio.run(load(watch.run))
    empty = settled(lambda: empty_panels(watch, after_fault=False), 60)
    assert not empty, "no series:\n" + "\n".join(empty)
    # Longer than every `for` and Alertmanager's waits, every rule evaluated ten times.
    for _ in range(10):
        assert watch.firing_in_prometheus() == set()
        assert watch.active_in_alertmanager() == set()
        time.sleep(1)
    assert watch.notifications() == []


def test_every_dashboard_panel_returns_data(watch: Watch) -> None:
    """Each query through Prometheus's HTTP API: an error fails in `query`, naming it."""
    empty = empty_panels(watch, after_fault=False)
    assert not empty, "no series:\n" + "\n".join(empty)


def cause(watch: Watch, alerts: set[str]) -> None:
    """Wait until every one of `alerts` fires in Prometheus, is active in Alertmanager and has
    a firing line in alerts.log."""
    wait_until(lambda: alerts <= watch.firing_in_prometheus(), 60, f"{alerts} not firing")
    wait_until(lambda: alerts <= watch.active_in_alertmanager(), 60, f"{alerts} not in AM")
    wait_until(lambda: alerts <= watch.notified("firing"), 60, f"{alerts} not in alerts.log")


def resolve(watch: Watch, alerts: set[str]) -> None:
    wait_until(lambda: not alerts & watch.firing_in_prometheus(), 90, f"{alerts} still firing")
    wait_until(lambda: alerts <= watch.notified("resolved"), 30, f"{alerts} not resolved")
    wait_until(lambda: not alerts & watch.active_in_alertmanager(), 30, f"{alerts} still in AM")


def test_processes_down_and_redis_memory_fire_then_resolve(watch: Watch) -> None:
    """Independent faults at once: an engine, the DB processor and the API killed, and Redis's
    maxmemory lowered to just above what it uses."""
    run = watch.run
    store = redis.Redis.from_url(run.state["redis"])
    faults = {
        "CryptexEngineDown", "CryptexEnginesMissing", "CryptexDbprocDown", "CryptexApiDown",
        "CryptexRedisMemoryHigh",
    }  # fmt: skip
    ceiling = str(store.config_get("maxmemory")["maxmemory"])
    killed: list[Killed] = []
    try:  # the faults are removed whatever happens: the later tests need the whole stack
        killed = [kill(run, name) for name in ("engine-BTC_USDC", "dbproc", "api")]
        used = int(store.info("memory")["used_memory"])
        store.config_set("maxmemory", int(used / 0.9))
        cause(watch, faults)
        # Alertmanager notifies a group again as alerts join it: one pod, maybe several lines.
        assert {labels["pod"] for labels in watch.firing_labels("CryptexEngineDown")} == {
            "engine-BTC_USDC"
        }
    finally:
        store.config_set("maxmemory", ceiling)
        store.close()
        for process in reversed(killed):
            watch.revived.append(revive(run, process))
    resolve(watch, faults)


def test_redis_down_fires_redis_websocket_and_api_errors(watch: Watch) -> None:
    """Redis killed: the exporter sees it down, the WebSocket server loses its pubsub, and the
    API answers 503; Redis back (its AOF), not one request fails and every alert resolves."""
    run = watch.run
    http = httpx.Client(base_url=run.api, timeout=10)

    def depth() -> int:
        """Its status; 0 when the connection broke (a keep-alive dropped under the fault)."""
        try:
            return http.get("/api/v1/depth", params={"symbol": SOL}).status_code
        except httpx.TransportError:
            return 0

    killed, back = kill(run, "redis"), False
    try:
        wait_until(lambda: depth() == 503, 30, "the API answers 503 without Redis")
        refused = http.get("/api/v1/depth", params={"symbol": SOL})
        assert refused.json()["code"] == -1001, refused.text
        assert refused.headers["Retry-After"] == "1"
        for _ in range(20):
            depth()
        cause(watch, {"CryptexRedisDown", "CryptexWebSocketRedisDown", "CryptexApiErrorRate"})
        watch.revived.append(revive(run, killed))
        back = True
        wait_until(lambda: depth() == 200, 30, "the API fails with Redis back")
        # Then never an error: every pooled connection that the restart closed is replaced
        # before its next command.
        for _ in range(500):
            assert depth() == 200
    finally:
        http.close()
        if not back:  # the later tests need the whole stack
            watch.revived.append(revive(run, killed))
    resolve(watch, {"CryptexRedisDown", "CryptexWebSocketRedisDown", "CryptexApiErrorRate"})


class Traffic:
    """A trader in a thread, placing orders until stopped: every half second, a resting buy
    on `resting` (far under the book) and an IOC pair that trades with the market maker on
    SOL_USDC (events for the DB processor). Answers are not checked: under the faults they
    are slow, which is what the alerts measure."""

    def __init__(self, run: StackRun, resting: str) -> None:
        self.run, self.resting, self.stop = run, resting, threading.Event()
        self.thread = threading.Thread(target=asyncio.run, args=(self._trade(),), daemon=True)

    async def _trade(self) -> None:
        trader = await sign_up(self.run, FUNDS)
        above, below, quantity = CROSSING[SOL]
        buy = {"side": "buy", "type": "limit", "price": RESTING[self.resting][0],
               "quantity": RESTING[self.resting][1], "market": self.resting}  # fmt: skip
        crossing = [
            {"side": side, "type": "limit", "price": price, "quantity": quantity, "market": SOL,
             "timeInForce": "IOC"}
            for side, price in (("buy", above), ("sell", below))
        ]  # fmt: skip
        async with trader.http:
            sent: list[asyncio.Task[httpx.Response]] = []
            while not self.stop.is_set():
                sent += [
                    asyncio.create_task(trader.http.post("/api/v1/order", json=body))
                    for body in (buy, *crossing)
                ]
                await asyncio.sleep(0.5)
            await asyncio.gather(*sent, return_exceptions=True)
            await trader.cancel_all()

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.thread.join(timeout=60)


# market -> (a buy price far under its book, a quantity over its minimum notional there)
RESTING = {"ETH_USDC": ("500.00", "0.1"), SOL: ("10.00", "1")}


def test_stalled_engine_and_db_processor_fire_their_lag_alerts(watch: Watch) -> None:
    """An engine and the DB processor stopped (alive, connected, reading nothing) while orders
    keep coming: their consumer groups fall behind their streams, as Redis's exporter sees it
    (the processes' own gauges stop with them). Continued, they catch up and it resolves."""
    run = watch.run
    lags = {"CryptexEngineLag", "CryptexDbprocLag"}
    with Traffic(run, "ETH_USDC"), stalled(run, "engine-ETH_USDC", "dbproc"):
        cause(watch, lags)

        def lagging() -> set[str]:
            return {labels["market"] for labels in watch.firing_labels("CryptexEngineLag")}

        # The stalled market's own notification (another market's may come first: in one CI
        # run BTC_USDC's engine, killed and through a Redis restart in the tests before, was
        # notified lagging too).
        wait_until(lambda: "ETH_USDC" in lagging(), 60, f"ETH_USDC not lagging: {lagging()}")
    resolve(watch, lags | {"CryptexEngineDown", "CryptexDbprocDown"})


def test_redis_pausing_its_writers_fires_the_order_latency_alert(watch: Watch) -> None:
    """Redis pausing every write for 1.5 s at a time (CLIENT PAUSE, as a slow fsync or a long
    script would): the order placements wait, and their p99 rises."""
    run = watch.run
    latencies = {"CryptexApiOrderLatencyHigh"}
    store = redis.Redis.from_url(run.state["redis"])
    try:
        with Traffic(run, SOL):
            deadline = time.monotonic() + 90
            while not latencies <= watch.firing_in_prometheus():
                assert time.monotonic() < deadline, f"{latencies} not firing"
                store.client_pause(1500, all=False)  # writes only: the exporter still reads
                time.sleep(1.8)
            cause(watch, latencies)
    finally:
        store.client_unpause()
        store.close()
    resolve(watch, latencies)


def test_redelivery_flood_and_garbage_reach_their_panels(watch: Watch) -> None:
    """The faults with no alert of their own: the DB processor's consumer groups rewound to the
    start of each market's events (a restore, an operator's mistake: every trade comes again and
    is skipped), a WebSocket client sending past its rate limit (dropped), and a message on a
    market's trades channel that is not an event."""
    run = watch.run
    store = redis.Redis.from_url(run.state["redis"])
    try:
        for market in run.state["markets"]:
            store.xgroup_setid(keys.events(market), keys.EVENTS_GROUP, id="0")
        store.publish(keys.trades_channel(SOL), b"not an event")
    finally:
        store.close()

    async def flood() -> None:
        client = await run.ws_client()
        try:
            for request in range(300):  # a burst of 50 allowed, then 50 refused: dropped
                await client.send({"method": "LIST_SUBSCRIPTIONS", "id": request})
            await asyncio.wait_for(client.ws.wait_closed(), timeout=10)
            assert client.ws.close_code == POLICY_VIOLATION
        finally:
            await client.close()

    asyncio.run(flood())
    # One client dropped in the rule's window is over its threshold of drops a second.
    cause(watch, {"CryptexWebSocketDrops"})
    resolve(watch, {"CryptexWebSocketDrops"})


def test_panels_that_need_a_fault_return_data(watch: Watch) -> None:
    empty = settled(lambda: empty_panels(watch, after_fault=True), 30)
    assert not empty, "no series:\n" + "\n".join(empty)


def _alloy_keys(block: str) -> set[str]:
    """The keys of `block { <attribute> = { ... } }` in the chart's Alloy pipeline."""
    config = (monitoring.CHART / "templates" / "logs" / "alloy.yaml").read_text()
    match = re.search(rf"{re.escape(block)} \{{\s*\w+ = \{{(.*?)\}}", config, re.DOTALL)
    assert match is not None, f"no {block} in the Alloy pipeline"
    return set(re.findall(r"(\w+)\s*=", match.group(1)))


def test_every_service_logs_lines_the_log_pipeline_reads(watch: Watch) -> None:
    """Every line each Cryptex process wrote through the load and the faults is one JSON
    object with the fields Alloy parses; the ones it makes Loki labels take few values (a known
    level, a logger name, a listed market), and ids are never among them."""
    parsed, labels = _alloy_keys("stage.json"), _alloy_keys("stage.labels")
    metadata = _alloy_keys("stage.structured_metadata")
    assert labels == {"level", "logger", "market"}
    assert not labels & metadata
    assert metadata == {"order_id", "account"}
    logs = Path(watch.run.state["logs"])
    paths = [logs / f"{name}.log" for name in ("api", "ws", "dbproc", "mm")]
    paths += sorted(logs.glob("engine-*.log"))
    markets = set(watch.run.state["markets"])
    seen: dict[str, set[object]] = {field: set() for field in parsed}
    for path in paths:
        lines = path.read_text().splitlines()
        assert lines, f"{path.name} is empty"
        for number, line in enumerate(lines, 1):
            where = f"{path.name}:{number}: {line[:200]}"
            record = json.loads(line)
            assert isinstance(record, dict), where
            assert {"ts", "level", "logger", "msg"} <= record.keys(), where
            assert datetime.fromisoformat(record["ts"]).tzinfo is not None, where
            assert record["level"] in LEVELS, where
            assert LOGGER.fullmatch(record["logger"]), where
            assert record.get("market", SOL) in markets, where
            for field in parsed & record.keys():
                seen[field].add(json.dumps(record[field]))
            for field in metadata & record.keys():
                assert isinstance(record[field], int), where
    assert seen["account"], "no line names an account"
    # Bounded: a stream per value, so a few dozen at most whatever the traffic.
    assert len(seen["logger"]) < 50, seen["logger"]


def test_every_caused_alert_is_a_chart_alert(watch: Watch) -> None:
    assert set(ALERTS) >= CAUSED
    assert watch.notified("firing") == watch.notified("resolved") == CAUSED
