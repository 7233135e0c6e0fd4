"""Alerts and dashboards, checked by tools: every PromQL expression passes promtool, every metric
it reads is one a Cryptex service exports (from the metric classes the services register) or one
of the few that Prometheus and redis_exporter add, and every label it names exists."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from cryptex import keys
from cryptex_api.ops import ApiMetrics
from cryptex_dbproc.service import DbprocMetrics
from cryptex_engine.service import EngineMetrics
from cryptex_mm.metrics import MmMetrics
from cryptex_ws.metrics import WsMetrics
from tests.e2e.harness import StackRun
from tests.e2e.monitoring import monitoring
from tests.integration.chart.chart import CHART, SCENARIOS, Rendered

DASHBOARDS = sorted((CHART / "dashboards").glob("*.json"))
# Labels every scraped series carries (Prometheus and the Prometheus Operator's relabelling).
TARGET_LABELS = frozenset(
    {"job", "instance", "namespace", "pod", "container", "service", "endpoint"}
)
# Series no Cryptex code exports: the scrape's own `up`, and redis_exporter's (the Redis
# StatefulSet's sidecar), for the Redis and stream-lag alerts.
EXTERNAL: dict[str, frozenset[str]] = {
    "up": frozenset(),
    "redis_up": frozenset(),
    "redis_memory_used_bytes": frozenset(),
    "redis_memory_max_bytes": frozenset(),
    "redis_stream_last_generated_id": frozenset({"db", "stream"}),
    "redis_stream_group_last_delivered_id": frozenset({"db", "stream", "group"}),
}
# The alerts the chart must have (the list: engine down and lag, settle latency, API
# errors and latency, WebSocket drops, dbproc lag, Redis memory).
REQUIRED_ALERTS = frozenset({
    "CryptexEngineDown", "CryptexEngineLag", "CryptexSettleLatencyHigh", "CryptexApiErrorRate",
    "CryptexApiOrderLatencyHigh", "CryptexWebSocketDrops", "CryptexDbprocLag",
    "CryptexRedisMemoryHigh",
})  # fmt: skip
# Grafana's variables, replaced by a value of the right shape before promtool sees a query.
GRAFANA_VARIABLES = {"$__rate_interval": "5m", "$__interval": "1m", "$market": "SOL_USDC"}
_SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("", "_count", "_sum", "_created"),
}


def _metrics(holder: object) -> list[MetricWrapperBase]:
    """The metrics a service's metrics class registers (one attribute each)."""
    return [m for m in vars(holder).values() if isinstance(m, MetricWrapperBase)]


def exported_series() -> dict[str, frozenset[str]]:
    """Series name -> its label names, for every metric of every Cryptex service."""
    series: dict[str, frozenset[str]] = {}
    for cls in (EngineMetrics, ApiMetrics, WsMetrics, DbprocMetrics, MmMetrics):
        metrics = [
            m for m in vars(cls(CollectorRegistry())).values() if isinstance(m, MetricWrapperBase)
        ]
        assert metrics, f"{cls.__name__} registers no metric"
        for metric in metrics:
            name: str = getattr(metric, "_name")  # noqa: B009 (no public accessor)
            kind: str = getattr(metric, "_type")  # noqa: B009
            labels = frozenset(getattr(metric, "_labelnames"))  # noqa: B009
            for suffix in _SUFFIXES[kind]:
                extra = {"le"} if suffix == "_bucket" else set()
                series[name + suffix] = labels | extra
    return series


@dataclass(frozen=True)
class Query:
    where: str
    expr: str


def rule_queries(rendered: Rendered) -> Iterator[Query]:
    for rule_set in rendered.of_kind("PrometheusRule"):
        for group in rule_set["spec"]["groups"]:
            for rule in group["rules"]:
                name = rule.get("alert") or rule.get("record")
                yield Query(f"{rendered.scenario}: {group['name']}/{name}", rule["expr"])


def _dashboard(path: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def dashboard_queries(path: Path) -> Iterator[Query]:
    """Every panel target, Grafana's variables replaced."""
    for panel in _dashboard(path)["panels"]:
        for target in panel.get("targets", []):
            expr = target["expr"]
            for variable, value in GRAFANA_VARIABLES.items():
                expr = expr.replace(variable, value)
            assert "$" not in expr, f"{path.name} {panel['title']}: unknown variable in {expr}"
            yield Query(f"{path.name}: {panel['title']} {target['refId']}", expr)


def all_queries(rendered: dict[str, Rendered]) -> list[Query]:
    queries = [query for path in DASHBOARDS for query in dashboard_queries(path)]
    for scenario in SCENARIOS:
        queries += rule_queries(rendered[scenario])
    return queries


def _promtool_check(promtool: Path, groups: list[dict[str, Any]], directory: Path) -> None:
    path = directory / "rules.yaml"
    path.write_text(yaml.safe_dump({"groups": groups}, sort_keys=False))
    done = subprocess.run(
        [str(promtool), "check", "rules", str(path)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rules_pass_promtool(
    rendered: dict[str, Rendered], scenario: str, promtool: Path, tmp_path: Path
) -> None:
    rule_sets = rendered[scenario].of_kind("PrometheusRule")
    if not rule_sets:  # only where the scenario turns them off
        values = yaml.safe_load((CHART / "ci" / f"{scenario}.yaml").read_text())
        assert values["monitoring"]["prometheusRules"] is False
        return
    groups = [group for rules in rule_sets for group in rules["spec"]["groups"]]
    _promtool_check(promtool, groups, tmp_path)


def test_the_local_stack_runs_the_chart_rules(rendered: dict[str, Rendered]) -> None:
    """One rule source: the stack's renderer gives, for the chart's markets and thresholds,
    exactly the groups of the chart's PrometheusRule."""
    (rules,) = rendered["default"].of_kind("PrometheusRule")
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert monitoring.render_rules(len(values["markets"])) == {"groups": rules["spec"]["groups"]}


def test_required_alerts_exist(rendered: dict[str, Rendered]) -> None:
    (rules,) = rendered["default"].of_kind("PrometheusRule")
    alerts = {rule["alert"] for group in rules["spec"]["groups"] for rule in group["rules"]}
    assert alerts >= REQUIRED_ALERTS
    for group in rules["spec"]["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert {"summary", "description"} <= rule["annotations"].keys(), rule["alert"]


def test_lag_alerts_read_the_streams_the_exporter_checks(rendered: dict[str, Rendered]) -> None:
    """The Redis exporter sidecar reports every market stream's consumer groups, and the lag
    rules name the groups and streams of `cryptex.keys`."""
    redis = rendered["default"].component("StatefulSet", "redis")
    (exporter,) = [c for c in redis["spec"]["template"]["spec"]["containers"]
                   if c["name"] == "exporter"]  # fmt: skip
    env = {item["name"]: item.get("value") for item in exporter["env"]}
    assert env["REDIS_EXPORTER_CHECK_STREAMS"] == ",".join(keys.MARKET_STREAM_PATTERNS)
    (rules,) = rendered["default"].of_kind("PrometheusRule")
    (streams,) = [g for g in rules["spec"]["groups"] if g["name"] == "cryptex.streams"]
    exprs = {rule["alert"]: rule["expr"] for rule in streams["rules"]}
    for alert, group, stream in (
        ("CryptexEngineLag", keys.COMMANDS_GROUP, keys.commands("SOL_USDC")),
        ("CryptexDbprocLag", keys.EVENTS_GROUP, keys.events("SOL_USDC")),
    ):
        assert f'group="{group}"' in exprs[alert]
        selector, replacement = re.findall(r'"(mkt:[^"]+)"', exprs[alert])
        assert re.fullmatch(selector, stream)
        assert re.fullmatch(replacement, stream)


@pytest.mark.parametrize("path", DASHBOARDS, ids=lambda path: path.stem)
def test_dashboard_is_grafana_json(path: Path) -> None:
    board = _dashboard(path)
    assert board["uid"].startswith("cryptex-")
    assert board["title"].startswith("Cryptex / ")
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert board["panels"], path.name
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids)), f"{path.name}: panel ids repeat"
    for panel in board["panels"]:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], f"{path.name}: {panel['title']} has no query"


def test_dashboards_cover_each_service() -> None:
    names = {path.stem for path in DASHBOARDS}
    assert names >= {"overview", "engine", "api", "websocket", "dbproc"}
    uids = [_dashboard(path)["uid"] for path in DASHBOARDS]
    assert len(uids) == len(set(uids))


def test_dashboards_ship_as_sidecar_config_maps(rendered: dict[str, Rendered]) -> None:
    shipped = {}
    for config_map in rendered["default"].of_kind("ConfigMap"):
        if config_map["metadata"]["labels"].get("grafana_dashboard") == "1":
            shipped.update({key: json.loads(text) for key, text in config_map["data"].items()})
    assert shipped == {path.name: _dashboard(path) for path in DASHBOARDS}


def test_dashboard_queries_pass_promtool(promtool: Path, tmp_path: Path) -> None:
    """promtool parses queries only as rules: each becomes a recording rule."""
    rules = [
        {"record": f"cryptex:dashboard_query:{index}", "expr": query.expr}
        for index, query in enumerate(q for path in DASHBOARDS for q in dashboard_queries(path))
    ]
    _promtool_check(promtool, [{"name": "dashboards", "rules": rules}], tmp_path)


def _selectors(expr: promql_parser.Expr) -> list[promql_parser.VectorSelector]:
    found: list[promql_parser.VectorSelector] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.VectorSelector):  # ranges included: walk enters them
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def _labels_made(expr: promql_parser.Expr) -> set[str]:
    """The labels that label_replace calls inside `expr` write."""
    made: set[str] = set()

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.Call) and node.func.name == "label_replace":
            made.add(node.args[1].val)
        return True

    promql_parser.walk(expr, visit)
    return made


def _aggregations(expr: promql_parser.Expr) -> list[promql_parser.AggregateExpr]:
    found: list[promql_parser.AggregateExpr] = []

    def visit(node: promql_parser.Expr) -> bool:
        if isinstance(node, promql_parser.AggregateExpr):
            found.append(node)
        return True

    promql_parser.walk(expr, visit)
    return found


def test_queries_read_only_exported_metrics_and_labels(rendered: dict[str, Rendered]) -> None:
    catalogue = {**exported_series(), **EXTERNAL}
    problems = []
    for query in all_queries(rendered):
        expr = promql_parser.parse(query.expr)
        for selector in _selectors(expr):
            name = selector.name
            if name is None or name not in catalogue:
                problems.append(f"{query.where}: {name} is exported by nothing")
                continue
            allowed = catalogue[name] | TARGET_LABELS
            problems += [
                f"{query.where}: {name} has no label {matcher.name}"
                for matcher in selector.matchers.matchers
                if matcher.name not in allowed | {"__name__"}
            ]
        for aggregation in _aggregations(expr):
            if aggregation.modifier is None:
                continue
            inner = _selectors(aggregation.expr)
            grouping = TARGET_LABELS.union(
                *(catalogue.get(s.name or "", frozenset()) for s in inner),
                _labels_made(aggregation.expr),
            )
            problems += [
                f"{query.where}: grouping by {label}, which none of its series has"
                for label in aggregation.modifier.labels
                if label not in grouping
            ]
    assert problems == []


def test_dashboard_variables_read_exported_metrics() -> None:
    catalogue = exported_series()
    for path in DASHBOARDS:
        for variable in _dashboard(path)["templating"]["list"]:
            if variable["type"] != "query":
                continue
            match = re.fullmatch(r"label_values\((\w+), *(\w+)\)", variable["query"]["query"])
            assert match is not None, variable
            assert match.group(2) in catalogue[match.group(1)], variable


def _scraped(text: str) -> dict[str, str]:
    """Family name -> type, from a /metrics page (families without samples included)."""
    return {family.name: family.type for family in text_string_to_metric_families(text)}


def _declared(holder: object) -> dict[str, str]:
    return {getattr(m, "_name"): getattr(m, "_type") for m in _metrics(holder)}  # noqa: B009


@pytest.fixture(scope="module")
def whole_stack() -> Iterator[StackRun]:
    """Every service as a process (`make up`'s program on free ports), market maker included."""
    run = StackRun("--no-monitoring")
    try:
        run.up()
        yield run
    finally:
        run.remove()


def test_running_services_export_the_metric_classes_checked_above(whole_stack: StackRun) -> None:
    """The catalogue comes from the metric classes; scraping every service of a running stack
    shows those classes are what the processes serve, so every metric the dashboards and
    alerts read is one a running service exports."""
    ports = whole_stack.state["ports"]
    pages = {
        ApiMetrics: [f"{whole_stack.api}/metrics"],
        WsMetrics: [f"http://127.0.0.1:{ports['ws_metrics']}/metrics"],
        DbprocMetrics: [f"http://127.0.0.1:{ports['dbproc']}/metrics"],
        MmMetrics: [f"http://127.0.0.1:{ports['mm']}/metrics"],
        EngineMetrics: [f"http://127.0.0.1:{port}/metrics" for port in ports["engines"].values()],
    }
    assert len(pages[EngineMetrics]) == 3  # one engine per example market
    for metrics_class, urls in pages.items():
        declared = _declared(metrics_class(CollectorRegistry()))
        for url in urls:
            page = httpx.get(url, timeout=5)
            assert page.status_code == 200, url
            assert declared.items() <= _scraped(page.text).items(), url
