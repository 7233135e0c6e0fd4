"""The log collector's pipeline reads the fields Cryptex's log lines carry (cryptex.logs), and
keeps ids out of Loki's labels."""

from __future__ import annotations

import json
import logging
import re

from cryptex.logs import JsonFormatter
from tests.integration.chart.chart import Rendered


def _config(rendered: Rendered) -> str:
    text: str = rendered.component("ConfigMap", "alloy")["data"]["config.alloy"]
    return text


def _block_keys(config: str, block: str) -> set[str]:
    """The keys of the map in `block { <attribute> = { ... } }` of the Alloy config."""
    match = re.search(rf"{re.escape(block)} \{{\s*\w+ = \{{(.*?)\}}", config, re.DOTALL)
    assert match is not None, f"no {block} in the Alloy config"
    return set(re.findall(r"(\w+)\s*=", match.group(1)))


def _a_log_line() -> dict[str, object]:
    record = logging.LogRecord("cryptex.engine", logging.INFO, __file__, 1, "settled", None, None)
    for key, value in {"market": "SOL_USDC", "order_id": 42, "account": 7}.items():
        setattr(record, key, value)
    line: dict[str, object] = json.loads(JsonFormatter().format(record))
    return line


def test_the_json_stage_reads_the_fields_of_a_log_line(rendered: dict[str, Rendered]) -> None:
    config = _config(rendered["full-monitoring"])
    assert _block_keys(config, "stage.json") == set(_a_log_line())


def test_labels_are_bounded_and_ids_are_metadata(rendered: dict[str, Rendered]) -> None:
    config = _config(rendered["full-monitoring"])
    assert _block_keys(config, "stage.labels") == {"level", "logger", "market"}
    assert _block_keys(config, "stage.structured_metadata") == {"order_id", "account"}
    assert 'source = "ts"' in config
    assert "http://loki-gateway.monitoring.svc/loki/api/v1/push" in config


def test_collection_is_off_unless_asked(rendered: dict[str, Rendered]) -> None:
    names = {obj["metadata"]["name"] for obj in rendered["default"].objects}
    assert not any(name.endswith("-alloy") for name in names)
