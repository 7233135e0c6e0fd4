"""The operator's RBAC in the chart is operator/rbac.yaml's, bound to the operator's pod."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pytest
import yaml

from tests.integration.chart.chart import REPO, SCENARIOS, Rendered

Rule = tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]


def _rules(rules: Iterable[Mapping[str, Any]]) -> set[Rule]:
    return {
        (tuple(sorted(rule["apiGroups"])), tuple(sorted(rule["resources"])), tuple(rule["verbs"]))
        for rule in rules
    }


def _source() -> dict[str, dict[str, Any]]:
    with (REPO / "operator" / "rbac.yaml").open(encoding="utf-8") as stream:
        return {doc["kind"]: doc for doc in yaml.safe_load_all(stream) if doc}


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_rules_are_those_of_operator_rbac_yaml(
    rendered: dict[str, Rendered], scenario: str
) -> None:
    source = _source()
    release = rendered[scenario]
    (cluster_role,) = release.of_kind("ClusterRole")
    assert _rules(cluster_role["rules"]) == _rules(source["ClusterRole"]["rules"])
    roles = [
        role for role in release.of_kind("Role") if role["metadata"]["name"].endswith("-operator")
    ]
    assert roles
    for role in roles:
        assert _rules(role["rules"]) == _rules(source["Role"]["rules"])


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_bindings_name_the_operators_account(rendered: dict[str, Rendered], scenario: str) -> None:
    release = rendered[scenario]
    operator = release.component("Deployment", "operator")
    account = operator["spec"]["template"]["spec"]["serviceAccountName"]
    release.named("ServiceAccount", account)
    (container,) = operator["spec"]["template"]["spec"]["containers"]
    env = {item["name"]: item.get("value") for item in container["env"]}
    watched = set(env["CRYPTEX_NAMESPACES"].split(","))
    role_namespaces = set()
    for binding in release.of_kind("ClusterRoleBinding", "RoleBinding"):
        if not binding["metadata"]["name"].endswith("-operator"):
            continue
        kind = "ClusterRole" if binding["kind"] == "ClusterRoleBinding" else "Role"
        assert binding["roleRef"]["kind"] == kind
        assert binding["subjects"] == [
            {"kind": "ServiceAccount", "name": account, "namespace": release.namespace}
        ]
        if kind == "Role":
            role_namespaces.add(binding["metadata"]["namespace"])
            role = [
                r
                for r in release.of_kind("Role")
                if r["metadata"]["name"] == binding["roleRef"]["name"]
                and r["metadata"]["namespace"] == binding["metadata"]["namespace"]
            ]
            assert len(role) == 1
    # A Role in every namespace the operator watches, and nowhere else.
    assert role_namespaces == watched
