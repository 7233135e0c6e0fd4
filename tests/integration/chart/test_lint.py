"""`helm lint --strict` passes on the chart with every scenario's values."""

from __future__ import annotations

import pytest

from tests.integration.chart.chart import SCENARIOS, Helm


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_lint_strict(helm: Helm, scenario: str) -> None:
    done = helm.lint(scenario)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "[WARNING]" not in done.stdout, done.stdout
    assert "[ERROR]" not in done.stdout, done.stdout


def test_values_schema_refuses_a_typo(helm: Helm) -> None:
    done = helm.run("template", "cx", str(helm.chart), "--set", "api.replicaz=2", check=False)
    assert done.returncode != 0
    assert "replicaz" in done.stderr


def test_values_schema_refuses_a_market_without_its_filters(helm: Helm) -> None:
    done = helm.run(
        "template", "cx", str(helm.chart), "--set", "markets[0].name=doge-usdc", check=False
    )
    assert done.returncode != 0
    assert "markets" in done.stderr
