"""The monitoring of a running stack, as an SRE meets it: Prometheus's and Alertmanager's HTTP
APIs, the alerts log the webhook receiver writes, and faults caused for real on the stack's own
processes (killed by pid, then started again with the command line, environment and log they
had, and put back in the stack's pid file so that `down` stops them)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.harness import ROOT, StackRun

# hack/stack is no package: its renderer is imported from its folder, and re-exported.
sys.path.insert(0, str(ROOT / "hack" / "stack"))
import monitoring as monitoring

DASHBOARDS = sorted((monitoring.CHART / "dashboards").glob("*.json"))
ALERTS = monitoring.alert_names()


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout:.0f}s: {what}")
        time.sleep(0.5)


def settled(problems: Callable[[], list[str]], timeout: float) -> list[str]:
    """`problems()` once it is empty, or what it still lists after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while (found := problems()) and time.monotonic() < deadline:
        time.sleep(1)
    return found


@dataclass
class Watch:
    """The monitoring of one stack run, and the processes a test started again in it."""

    run: StackRun
    revived: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def prometheus(self) -> str:
        return str(self.run.state["monitoring"]["prometheus"])

    @property
    def alertmanager(self) -> str:
        return str(self.run.state["monitoring"]["alertmanager"])

    @property
    def alerts_log(self) -> Path:
        return Path(self.run.state["monitoring"]["alerts_log"])

    def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query; an error in it fails the caller with Prometheus's message."""
        reply = httpx.get(f"{self.prometheus}/api/v1/query", params={"query": expr}, timeout=10)
        body = reply.json()
        assert reply.status_code == 200, f"{expr}: {body}"
        assert body["status"] == "success", f"{expr}: {body}"
        result: list[dict[str, Any]] = body["data"]["result"]
        return result

    def label_values(self, label: str, series: str) -> list[str]:
        reply = httpx.get(
            f"{self.prometheus}/api/v1/label/{label}/values", params={"match[]": series},
            timeout=10,
        )  # fmt: skip
        values: list[str] = reply.json()["data"]
        return values

    def firing_in_prometheus(self) -> set[str]:
        return {s["metric"]["alertname"] for s in self.query('ALERTS{alertstate="firing"}')}

    def active_in_alertmanager(self) -> set[str]:
        reply = httpx.get(f"{self.alertmanager}/api/v2/alerts", timeout=10)
        return {alert["labels"]["alertname"] for alert in reply.json()}

    def notifications(self) -> list[tuple[str, str, dict[str, str]]]:
        """(status, alertname, labels) of each alert in each line of the alerts log."""
        if not self.alerts_log.exists():
            return []
        lines = [json.loads(line) for line in self.alerts_log.read_text().splitlines()]
        return [
            (alert["status"], alert["labels"]["alertname"], alert["labels"])
            for notification in lines
            for alert in notification["alerts"]
        ]

    def firing_labels(self, alert: str) -> list[dict[str, str]]:
        """The labels of each firing notification of `alert` in the alerts log."""
        return [
            labels for status, name, labels in self.notifications()
            if name == alert and status == "firing"
        ]  # fmt: skip

    def notified(self, status: str) -> set[str]:
        return {name for state, name, _ in self.notifications() if state == status}


# ------------------------------------------------------------------ faults on processes


def _start_time(pid: int) -> int | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except OSError:
        return None
    return None if fields[0] in ("Z", "X") else int(fields[19])


@dataclass
class Killed:
    """A process of the stack, killed, with what it takes to start it again."""

    record: dict[str, Any]
    argv: list[str]
    env: dict[str, str]
    cwd: str
    uid: int  # whom it ran as (PostgreSQL, under root, as the `postgres` user)


def _records(run: StackRun) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = json.loads((run.data / "pids").read_text())
    return records


@contextmanager
def stalled(run: StackRun, *names: str) -> Iterator[None]:
    """The named processes stopped (SIGSTOP: alive, holding their connections, doing nothing,
    as a process stuck in a call is), and continued on the way out."""
    pids = []
    for name in names:
        (record,) = [r for r in _records(run) if r["name"] == name]
        assert _start_time(record["pid"]) == record["start"], f"{name} is not running"
        pids.append(record["pid"])
    for pid in pids:
        os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        for pid in pids:
            os.kill(pid, signal.SIGCONT)


def running(record: dict[str, Any]) -> bool:
    """Whether the process of a pid file record still runs (its pid not reused since)."""
    return bool(_start_time(record["pid"]) == record["start"])


def kill(run: StackRun, name: str) -> Killed:
    (record,) = [r for r in _records(run) if r["name"] == name]
    pid = record["pid"]
    assert _start_time(pid) == record["start"], f"{name} (pid {pid}) is not running"
    proc = Path(f"/proc/{pid}")
    pairs = proc.joinpath("environ").read_bytes().decode().rstrip("\0").split("\0")
    env = dict(pair.split("=", 1) for pair in pairs if "=" in pair)
    uid = proc.stat().st_uid
    killed = Killed(record, record["argv"], env, os.readlink(proc / "cwd"), uid)
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: _start_time(pid) is None, 10, f"{name} still runs after SIGKILL")
    return killed


def stop(run: StackRun, name: str, timeout: float = 30) -> None:
    """Stop one process as `stack.py down` would: its stop signal, and wait until it is gone."""
    (record,) = [r for r in _records(run) if r["name"] == name]
    pid = record["pid"]
    if _start_time(pid) != record["start"]:
        return  # not running
    os.kill(pid, getattr(signal, record["stop_signal"]))
    wait_until(
        lambda: _start_time(pid) is None, timeout, f"{name} still runs after its stop signal"
    )


def revive(run: StackRun, killed: Killed) -> subprocess.Popen[bytes]:
    """Start it again as the stack did, and wait for its health check. The caller waits for
    the process once the stack's `down` has stopped it."""
    record = killed.record
    with open(record["log"], "ab") as log:
        popen = subprocess.Popen(
            killed.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            env=killed.env, cwd=killed.cwd, start_new_session=True,
            user=None if killed.uid == os.geteuid() else killed.uid,
        )  # fmt: skip
    records = [r for r in _records(run) if r["name"] != record["name"]]
    records.append({**record, "pid": popen.pid, "start": _start_time(popen.pid)})
    (run.data / "pids").write_text(json.dumps(records, indent=2))
    if record["health"]:

        def healthy() -> bool:
            assert popen.poll() is None, f"{record['name']} exited again: see {record['log']}"
            try:
                return httpx.get(record["health"], timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(healthy, 60, f"{record['name']} not healthy again")
    return popen
