"""The local stack's monitoring: what Prometheus, Alertmanager and the Redis and PostgreSQL
exporters are given, generated from the running stack, and the chart's own alert rules.

The rules are rendered from helm/cryptex/files/alerts.yaml, the file the chart's PrometheusRule
is rendered from, with the thresholds of the chart's values.yaml: nothing here restates a rule
or a threshold. Job names are the chart's (`cryptex-engine`, `cryptex-api`, ...) and each target
carries a `pod` label naming its process, so every dashboard query and alert reads the local
stack as it reads a cluster.

The standard library at import (`stack.py down` runs without the .venv), PyYAML when called
(`up` runs under the .venv's Python). The tests use it to run the rules with a shortened `for`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CHART = ROOT / "helm" / "cryptex"
RULES_SOURCE = CHART / "files" / "alerts.yaml"
CHART_VALUES = CHART / "values.yaml"
# The job label of each kind of target: the chart's ServiceMonitors' and PodMonitor's.
JOBS = {
    "engine": "cryptex-engine", "api": "cryptex-api", "ws": "cryptex-ws",
    "dbproc": "cryptex-dbproc", "mm": "cryptex-mm", "redis": "cryptex-redis",
    "postgres": "cryptex-postgres",
}  # fmt: skip
# The alert that compares the engines up with the markets listed (dropped without markets).
ENGINES_MISSING = "CryptexEnginesMissing"
_PLACEHOLDER = re.compile(r"\$\{(\w+)\}")


def chart_values() -> dict[str, Any]:
    import yaml

    loaded: dict[str, Any] = yaml.safe_load(CHART_VALUES.read_text())
    return loaded


def render_rules(
    markets: int, *, thresholds: Mapping[str, object] | None = None, hold: str | None = None
) -> dict[str, Any]:
    """The rule file: the chart's rules with its thresholds (or `thresholds`) and `markets`.
    `hold` replaces every rule's `for` (tests wait seconds, not minutes)."""
    values = dict(chart_values()["monitoring"]["alerts"])
    values.update(thresholds or {})
    values["markets"] = markets
    import yaml

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise KeyError(f"{RULES_SOURCE.name}: no value for ${{{name}}}")
        return str(values[name])

    rules: dict[str, Any] = yaml.safe_load(_PLACEHOLDER.sub(fill, RULES_SOURCE.read_text()))
    for group in rules["groups"]:
        if markets == 0:
            group["rules"] = [r for r in group["rules"] if r.get("alert") != ENGINES_MISSING]
        if hold is not None:
            for rule in group["rules"]:
                rule["for"] = hold
    return rules


def alert_names() -> list[str]:
    return [rule["alert"] for group in render_rules(1)["groups"] for rule in group["rules"]]


@dataclass(frozen=True)
class Target:
    job: str  # a key of JOBS
    pod: str  # the process's name in the stack
    address: str  # host:port of its /metrics


def prometheus_config(
    targets: Sequence[Target], *, interval_s: float, alertmanager: str, rule_file: Path
) -> dict[str, Any]:
    """One job per kind of process, every target labelled with its `pod`."""
    jobs: dict[str, list[Target]] = {}
    for target in targets:
        jobs.setdefault(target.job, []).append(target)
    interval = f"{interval_s:g}s"
    return {
        "global": {"scrape_interval": interval, "evaluation_interval": interval,
                   "scrape_timeout": interval},
        "rule_files": [str(rule_file)],
        "alerting": {"alertmanagers": [{"static_configs": [{"targets": [alertmanager]}]}]},
        "scrape_configs": [
            {
                "job_name": JOBS[job],
                "static_configs": [
                    {"targets": [t.address], "labels": {"pod": t.pod}} for t in members
                ],
            }
            for job, members in jobs.items()
        ],
    }  # fmt: skip


def alertmanager_config(webhook: str, *, interval_s: float) -> dict[str, Any]:
    """Every alert its own notification (grouped by all labels), firing and resolved, to the
    webhook that writes alerts.log. Waits scale with the scrape interval, so a test with short
    intervals sees notifications in seconds."""
    wait = f"{interval_s:g}s"
    return {
        "route": {
            "receiver": "alerts-log", "group_by": ["..."], "group_wait": wait,
            "group_interval": wait, "repeat_interval": "4h",
        },
        "receivers": [
            {"name": "alerts-log", "webhook_configs": [{"url": webhook, "send_resolved": True}]}
        ],
    }  # fmt: skip


def dump(data: Mapping[str, Any]) -> str:
    import yaml

    return yaml.safe_dump(dict(data), sort_keys=False)
